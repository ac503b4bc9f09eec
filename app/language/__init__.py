"""The footer's language switch (``POST /language``)."""
