#!/bin/bash
# Rendered by webstack for pebble on host acme of stack ha.
# Do not edit: `webstack up` writes it again from the design.
set -euo pipefail
mkdir -p /var/lib/webstack/ha/run/acme/pebble/roots /etc/netns/ha-client/ssl/certs
root=$(curl --silent --show-error --fail --max-time 5 --cacert /var/lib/webstack/ha/run/acme/pebble/server-cert.pem https://203.0.113.132:15000/roots/0)
printf '%s\n' "$root" > /var/lib/webstack/ha/run/acme/pebble/roots/new.pem
id=$(openssl x509 -noout -fingerprint -sha256 -in /var/lib/webstack/ha/run/acme/pebble/roots/new.pem | tr -dc 'A-F0-9')
mv /var/lib/webstack/ha/run/acme/pebble/roots/new.pem /var/lib/webstack/ha/run/acme/pebble/roots/"$id".pem
cat /var/lib/webstack/ha/run/acme/pebble/roots/*.pem > /var/lib/webstack/ha/run/acme/pebble/lab-roots.pem
cp /var/lib/webstack/ha/run/acme/pebble/lab-roots.pem /etc/netns/ha-client/ssl/certs/ca-certificates.crt
