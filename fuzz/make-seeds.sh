#!/usr/bin/env bash
# Makes the fixed OpenPGP keys of the device targets and the GnuPG-made seeds of their corpora:
#   keys/server.secret.asc   the server's key (decrypts answers), unprotected
#   keys/device.secret.asc   the phone's key (signs answers), unprotected; its public half is the
#   keys/device.public.asc   enrolled key every answer is verified against
#   corpus/device_public_key/gpg-*.asc, corpus/device_answer/gpg-*.asc
# All made by GnuPG 2.2 (Debian package gnupg), the reference the device protocol is held to.
# Run from anywhere; it overwrites those files. The answers are encrypted to the server key and
# signed by the device key written in the same run, so keys and answers go together.
set -euo pipefail
cd "$(dirname "$0")"
home=$(mktemp -d)
trap 'gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
gpg() { command gpg --homedir "$home" --batch --no-tty --pinentry-mode loopback --passphrase '' "$@"; }
fpr() { gpg --with-colons --list-keys "$1" 2>/dev/null | awk -F: '/^fpr/{print $10; exit}'; }

# A key as apps and GnuPG users make them: a signing primary plus an encryption subkey.
make_key() { # uid primary-algo subkey-algo expiry
  gpg --quick-gen-key "$1" "$2" sign "$4" 2>/dev/null
  gpg --quick-add-key "$(fpr "$1")" "$3" encr "$4" 2>/dev/null
}

make_key 'Fuzz server <server@fuzz.invalid>' ed25519 cv25519 0
make_key 'Fuzz phone <phone@fuzz.invalid>' ed25519 cv25519 0
server=$(fpr server@fuzz.invalid)
device=$(fpr phone@fuzz.invalid)
gpg --armor --export-secret-keys "$server" > keys/server.secret.asc
gpg --armor --export-secret-keys "$device" > keys/device.secret.asc
gpg --armor --export "$device" > keys/device.public.asc

# Public keys of the kinds phones and tools send.
cp keys/device.public.asc corpus/device_public_key/gpg-ed25519.asc
make_key 'RSA phone <rsa@fuzz.invalid>' rsa2048 rsa2048 0
gpg --armor --export rsa@fuzz.invalid > corpus/device_public_key/gpg-rsa2048.asc
make_key 'P-256 phone <p256@fuzz.invalid>' nistp256 nistp256 50y
gpg --armor --export p256@fuzz.invalid > corpus/device_public_key/gpg-nistp256-expiring.asc
gpg --quick-add-uid p256@fuzz.invalid 'Second uid <second@fuzz.invalid>' 2>/dev/null
gpg --armor --export p256@fuzz.invalid > corpus/device_public_key/gpg-two-uids.asc

# Answers as `gpg --sign --encrypt` writes them (compressed by default; one without).
txn=6f9619ff-8b86-4d01-b42d-00cf4fc964ff
answer() { # name plaintext [extra gpg options]
  local name=$1 plain=$2; shift 2
  printf '%s' "$plain" | gpg --armor --sign --encrypt --trust-model always \
    --local-user "$device" --recipient "$server" "$@" > "corpus/device_answer/gpg-$name.asc"
}
answer accept-pin "{\"transaction_id\":\"$txn\",\"accepted\":true,\"pin_token\":\"0123456789abcdef0123456789abcdef\"}"
answer reject-fraud "{\"transaction_id\":\"$txn\",\"accepted\":false,\"reject_reason\":\"fraud\"}"
answer accept-signature-uncompressed \
  "{\"transaction_id\":\"$txn\",\"accepted\":true,\"number\":42,\"signature\":\"-----BEGIN PGP SIGNATURE-----\"}" \
  --compress-algo none
answer custom-textmode \
  "{\"transaction_id\":\"$txn\",\"accepted\":true,\"custom_token\":\"t\",\"custom_authenticator_id\":\"face\",\"custom_data\":\"{}\"}" \
  --textmode
echo "keys and GnuPG seeds written under $(pwd)"
