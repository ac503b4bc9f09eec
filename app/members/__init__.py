"""Members: accounts, sign-up and sign-in (password and social), contact details, verification
codes, rate limits and settings, with their pages (``views``, ``social_views``) and forms.

The JSON API routes for members live with the rest of the API, in ``app.api.account`` and
``app.api.auth``; they call the same services (``service``, ``verification``, ``settings``).
"""
