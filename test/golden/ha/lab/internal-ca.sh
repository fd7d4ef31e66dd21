#!/bin/bash
# Rendered by webstack for stack ha: its internal CA and its hosts' certificates.
# Makes only what is missing (or a host's certificate whose names changed): keys are never replaced by a restart.
set -euo pipefail
# Keys are made unreadable to others; directories are made readable, since MariaDB reads its
# certificate and the CA's as the mysql user.
umask 077
dirs() { (umask 022; mkdir -p "$@"); }
if [ ! -e /var/lib/webstack/ha/volumes/ca/ca.pem ]; then
  dirs /var/lib/webstack/ha/volumes/ca
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=webstack ha internal CA" -keyout /var/lib/webstack/ha/volumes/ca/ca.key -out /var/lib/webstack/ha/volumes/ca/ca.pem 2>/dev/null
  chmod 644 /var/lib/webstack/ha/volumes/ca/ca.pem
fi
leaf() {
  local host=$1 sans=$2 cert=$3 key=$4 group=$5 dir
  dir=$(dirname "$cert")
  if [ -e "$cert" ] && [ "$(cat "$dir/names" 2>/dev/null)" = "$sans" ]; then return; fi
  dirs "$dir"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" -addext "subjectAltName=$sans" -keyout "$key" -out "$dir/request.csr" 2>/dev/null
  openssl x509 -req -in "$dir/request.csr" -CA /var/lib/webstack/ha/volumes/ca/ca.pem -CAkey /var/lib/webstack/ha/volumes/ca/ca.key -CAcreateserial -CAserial /var/lib/webstack/ha/volumes/ca/serial -days 825 -copy_extensions copyall -out "$cert" 2>/dev/null
  printf '%s' "$sans" > "$dir/names"
  chmod 644 "$cert"; chgrp "$group" "$key"; chmod 640 "$key"
}
leaf web-01 'DNS:web-01,IP:10.71.128.12,IP:127.0.0.1' /var/lib/webstack/ha/volumes/web-01/tls/cert.pem /var/lib/webstack/ha/volumes/web-01/tls/key.pem root
leaf web-02 'DNS:web-02,IP:10.71.128.13,IP:127.0.0.1' /var/lib/webstack/ha/volumes/web-02/tls/cert.pem /var/lib/webstack/ha/volumes/web-02/tls/key.pem root
leaf app-01 'DNS:app-01,DNS:app,IP:10.71.128.14,IP:127.0.0.1' /var/lib/webstack/ha/volumes/app-01/tls/cert.pem /var/lib/webstack/ha/volumes/app-01/tls/key.pem root
leaf app-02 'DNS:app-02,DNS:app,IP:10.71.128.15,IP:127.0.0.1' /var/lib/webstack/ha/volumes/app-02/tls/cert.pem /var/lib/webstack/ha/volumes/app-02/tls/key.pem root
leaf db-01 'DNS:db-01,IP:10.71.128.16,IP:10.71.128.254,IP:127.0.0.1' /var/lib/webstack/ha/volumes/db-01/tls/cert.pem /var/lib/webstack/ha/volumes/db-01/tls/key.pem mysql
leaf db-02 'DNS:db-02,IP:10.71.128.17,IP:10.71.128.254,IP:127.0.0.1' /var/lib/webstack/ha/volumes/db-02/tls/cert.pem /var/lib/webstack/ha/volumes/db-02/tls/key.pem mysql
leaf db-03 'DNS:db-03,IP:10.71.128.18,IP:10.71.128.254,IP:127.0.0.1' /var/lib/webstack/ha/volumes/db-03/tls/cert.pem /var/lib/webstack/ha/volumes/db-03/tls/key.pem mysql
leaf cache-01 'DNS:cache-01,IP:10.71.128.19,IP:127.0.0.1' /var/lib/webstack/ha/volumes/cache-01/tls/cert.pem /var/lib/webstack/ha/volumes/cache-01/tls/key.pem root
