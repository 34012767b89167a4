#!/bin/sh
# Regenerates the static test PKI of the kruise tests (run once; the PEMs are committed).
# CA, a server certificate for 127.0.0.1/localhost, and two client certificates: one with an
# RSA PKCS#1 key, one with an EC (SEC1) key. Valid for 100 years. Test use only.
set -eu
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days $days -subj "/CN=agenttier-test-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days $days -extfile server.ext 2>/dev/null
openssl genrsa -traditional -out client-rsa.key 2048 2>/dev/null
openssl req -new -key client-rsa.key -out client-rsa.csr -subj "/CN=jane/O=dev" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client-rsa.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client-rsa.crt -days $days -extfile client.ext 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out client-ec.key
openssl req -new -key client-ec.key -out client-ec.csr -subj "/CN=joe/O=dev" 2>/dev/null
openssl x509 -req -in client-ec.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client-ec.crt -days $days -extfile client.ext 2>/dev/null
rm -f ./*.csr ./*.ext ./*.srl ca.key
