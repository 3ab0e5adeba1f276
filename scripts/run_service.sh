#!/bin/sh
# The image's entrypoint (/usr/local/bin/flokk-service): one image, the service chosen at run time.
#   FLOKK_SERVICE=registration, no arguments  ->  flokk-run services.registration.service (as PID 1):
#                                                 nameko run, with the process's own broker user
#                                                 (services/common/runner.py)
#   any arguments                             ->  run as given, e.g. the topology Job:
#                                                 python -m services.common.topology
set -eu
SERVICES="gateway registration matching notification directory"
[ "$#" -eq 0 ] || exec "$@"
if [ -z "${FLOKK_SERVICE:-}" ]; then
  echo "flokk-service: FLOKK_SERVICE is not set; set it to one of: $SERVICES" >&2
  exit 64
fi
for name in $SERVICES; do
  if [ "$FLOKK_SERVICE" = "$name" ]; then
    exec flokk-run --config "${FLOKK_CONFIG:-/etc/flokk/config.yml}" "services.$name.service"
  fi
done
echo "flokk-service: FLOKK_SERVICE='$FLOKK_SERVICE' is not a Flokk service; set it to one of: $SERVICES" >&2
exit 64
