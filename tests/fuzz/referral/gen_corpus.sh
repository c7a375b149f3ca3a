#!/bin/sh
# Regenerate corpus/ from corpus_src/*.txtpb with protoc --encode (run from anywhere), plus a
# few byte-level cases text format cannot express (empty, truncated, invalid UTF-8).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$here/corpus
mkdir -p "$out"
for t in "$here"/corpus_src/*.txtpb; do
	n=$(basename "$t" .txtpb)
	protoc --encode=ccs.mtp.v1.ReferralSubmitted -I "$root/proto" \
		"$root/proto/ccs/mtp/v1/referral.proto" < "$t" > "$out/$n.bin"
done
: > "$out/empty.bin"
head -c 40 "$out/valid_physician_la.bin" > "$out/truncated.bin"
# Field 7 (child) holding field 1 (first_name) = "\xff\xfe": invalid UTF-8 protoc refuses to write.
printf '\072\004\012\002\377\376' > "$out/invalid_utf8_name.bin"
