#!/usr/bin/env bash
# The component image, exercised on its own: RabbitMQ and ejabberd test containers on a private network,
# then `docker run` of the component configured only by environment variables; prints the image size and
# the time from `docker run` to /health/ready answering 200, checks that it runs as a non-root user and
# that Docker's HEALTHCHECK (the component's --health-check) reports healthy; removes everything after.
#
#   containers/component-test.sh        (images from containers/build-images.sh)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

xrc_docker_ready || xrc_die "no Docker engine answers (containers/engine.sh start)"
for img in "$XRC_COMPONENT_IMAGE" "$XRC_RABBITMQ_IMAGE" "$XRC_EJABBERD_IMAGE"; do
    xrc_image_exists "$img" || xrc_die "image $img missing: containers/build-images.sh"
done
id="xrc-ctest-$$"
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ]; then docker logs --tail 30 "$id-component" >&2 2>/dev/null || true; fi
    docker rm -f "$id-component" "$id-ejabberd" "$id-rabbitmq" >/dev/null 2>&1 || true
    docker network rm "$id" >/dev/null 2>&1 || true
    exit $rc
}
trap cleanup EXIT

docker network create "$id" >/dev/null
docker run -d --name "$id-rabbitmq" --network "$id" --network-alias rabbitmq "$XRC_RABBITMQ_IMAGE" >/dev/null
docker run -d --name "$id-ejabberd" --network "$id" --network-alias ejabberd "$XRC_EJABBERD_IMAGE" >/dev/null
for _ in $(seq 1 300); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id-rabbitmq")" = healthy ] \
        && [ "$(docker inspect -f '{{.State.Health.Status}}' "$id-ejabberd")" = healthy ] && break
    sleep 0.2
done

t0=$(date +%s.%N)
docker run -d --name "$id-component" --network "$id" -p 127.0.0.1::9464 \
    -e Xmpp__Host=ejabberd -e Xmpp__ComponentDomain=events.localhost -e Xmpp__Secret=secret \
    -e Rabbit__Host=rabbitmq "$XRC_COMPONENT_IMAGE" >/dev/null
port=$(docker port "$id-component" 9464/tcp | head -n 1 | sed 's/.*://')
elapsed=$(xrc_wait_ready "$port" 30 "$t0")
user=$(docker exec "$id-component" id -u)
[ "$user" != 0 ] || xrc_die "the component runs as root"
for _ in $(seq 1 60); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id-component")" = healthy ] && break
    sleep 1
done
health=$(docker inspect -f '{{.State.Health.Status}}' "$id-component")
[ "$health" = healthy ] || xrc_die "docker reports the component $health"
size=$(docker image inspect -f '{{.Size}}' "$XRC_COMPONENT_IMAGE" | awk '{printf "%d MB", $1/1e6}')
echo "component image $XRC_COMPONENT_IMAGE: $size; docker run to /health/ready 200 in $elapsed s; uid $user; HEALTHCHECK $health"
