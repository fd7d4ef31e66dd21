#!/bin/bash
# Rendered by webstack for haproxy on host lb-02 of stack ha.
# Do not edit: `webstack up` writes it again from the design.
# Obtains (run) or renews (renew) this load balancer's certificate from the lab's ACME CA.
set -euo pipefail
export LEGO_CA_CERTIFICATES=/var/lib/webstack/ha/run/acme/pebble/server-cert.pem
export RFC2136_NAMESERVER=203.0.113.131:53
export RFC2136_TSIG_ALGORITHM=hmac-sha256.
export RFC2136_TSIG_KEY=acme-update
export RFC2136_TSIG_SECRET=ZG5zLXVwZGF0ZS1rZXktZm9yLXRlc3RzLTAxMjM0NTY=
export RFC2136_TTL=10 RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1
command=${1:-run}
# One order at a time for the whole stack: lego replaces the challenge's TXT record set, so two
# load balancers validating the same name at once would each remove the other's answer.
exec 9>/var/lib/webstack/ha/run/acme.lock
flock --timeout 120 9
extra=()
# A renewal asked for by hand renews whatever the expiry, and now (lego waits at random otherwise, as cron jobs should).
if [ "$command" = renew ]; then extra=(--days 100000 --no-random-sleep); fi
lego --accept-tos --email hostmaster@foobar.com --server https://203.0.113.132:14000/dir --key-type ec256 --path /var/lib/webstack/ha/run/lb-02/haproxy/acme \
  --dns rfc2136 --dns.resolvers 203.0.113.131:53 --dns.disable-cp --domains www.foobar.com "$command" "${extra[@]}"
cat /var/lib/webstack/ha/run/lb-02/haproxy/acme/certificates/www.foobar.com.crt /var/lib/webstack/ha/run/lb-02/haproxy/acme/certificates/www.foobar.com.key > /var/lib/webstack/ha/run/lb-02/haproxy/site.pem.next
mv /var/lib/webstack/ha/run/lb-02/haproxy/site.pem.next /var/lib/webstack/ha/run/lb-02/haproxy/site.pem
