"""The web chat page at ``/``: a small widget of our own (webapp/static/chat/) talking to Rasa's socket.io channel.

Why not rasa-webchat from npm: it works with Rasa 3.6's socket.io, but its stylesheet loads a web font from Google's
CDN, it has no way to show messages that do not come through the socket (officer replies fetched from the hand-off
poll endpoint), and it has not been released since 2021. The widget is vanilla JavaScript; socket.io-client is
vendored from npm (package.json, ``make webchat-vendor``). Everything is served from here: no CDN.

The page tells the widget where Rasa's socket.io is (same host, RASA_PORT, unless CHAT_SOCKET_URL names a public
URL, e.g. behind a reverse proxy) and, if the web app has a route named ``handoff_poll``, where to fetch officer
replies while a hand-off ticket is open (see chat.js, ``OfficerRelay``).
"""
