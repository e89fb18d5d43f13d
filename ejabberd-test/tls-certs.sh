#!/bin/sh
# Makes a private CA, a server certificate for localhost/127.0.0.1 and a client certificate
# (client.pem = certificate and key) in DIR, for the test broker's amqps listener: used by
# ejabberd-test/rabbitmq.sh and by the RabbitMQ image (containers/rabbitmq/Dockerfile).
#   tls-certs.sh DIR
set -eu
t=$1
mkdir -p "$t"
cd "$t"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=xrc-test-ca" 2>/dev/null
for who in server client; do
    openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=$who.localhost" 2>/dev/null
done
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for who in server client; do
    openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.crt" -days 3650 -extfile "$who.ext" 2>/dev/null
done
cat client.crt client.key >client.pem
chmod 644 ./*.pem ./*.crt ./*.key
