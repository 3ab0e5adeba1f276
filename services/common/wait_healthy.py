"""Wait, with a deadline, until the named services answer `health()` over RPC (or the gateway
/healthz). A name given as `NAME:PORT` is one replica of a service, which must answer /healthz on its
own metrics port (an RPC reaches whichever replica takes it)."""

import sys
import time
import urllib.request

from .settings import tool_value

DEADLINE_SECONDS = float(tool_value("FLOKK_READY_SECONDS") or 60)


def main(names):
    import eventlet

    eventlet.monkey_patch()
    import logging

    logging.getLogger("amqp").setLevel(logging.ERROR)  # reply-channel chatter while polling
    from .rpc import tool_rpc

    deadline = time.monotonic() + DEADLINE_SECONDS
    replicas = [name for name in names if ":" in name]
    names = [name for name in names if ":" not in name]
    pending = [name for name in names if name != "gateway"]
    with tool_rpc(timeout=2) as cluster:
        while pending:
            name = pending[0]
            try:
                if getattr(cluster, name).health()["status"] == "ok":
                    pending.pop(0)
                    continue
            except Exception:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"services not healthy within {DEADLINE_SECONDS:.0f}s: {', '.join(pending)}")
            time.sleep(0.2)
    urls = [(name, f"http://127.0.0.1:{tool_value('GATEWAY_PORT')}/healthz") for name in names if name == "gateway"]
    urls += [(name, f"http://127.0.0.1:{name.rsplit(':', 1)[1]}/healthz") for name in replicas]
    for name, url in urls:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except Exception:
                if time.monotonic() > deadline:
                    sys.exit(f"{name} not healthy within {DEADLINE_SECONDS:.0f}s at {url}")
                time.sleep(0.2)
    print("services healthy: " + ", ".join(names + replicas))


if __name__ == "__main__":
    main(sys.argv[1:])
