#!/bin/sh
# As the official redis image behaves: protected mode off unless the command says otherwise.
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
