"""
The signaling wing: the websocket each participant's browser keeps open during a call.

It parses the wire format, checks what a socket may send, calls one service, and renders
what comes back and what the session's bus says. It holds no call logic of its own and
never imports the REST API (``docs/architecture.md``).
"""
