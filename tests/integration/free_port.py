"""free_port.py — prints a loopback TCP port that was free a moment ago and that this test was not given before.

    python3 free_port.py GIVEN_FILE

Binding to port 0 and releasing the socket can hand out the same port twice in a row, and a test that asks for
four ports then configures two listeners on one number (seen: a receiver's self-telemetry and the OTLP port of
another receiver got the same port, and the second could not start). GIVEN_FILE keeps the ports handed out so
far, one per line; a repeat is skipped. Shared by receiver_lib.bash and autoinstr_lib.bash.
"""
import socket
import sys

path = sys.argv[1]
try:
    with open(path) as f:
        given = set(f.read().split())
except FileNotFoundError:
    given = set()
for _ in range(100):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in given:
        break
else:
    sys.exit("free_port.py: no new free port after 100 tries")
with open(path, "a") as f:
    f.write(port + "\n")
print(port)
