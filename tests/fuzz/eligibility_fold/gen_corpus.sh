#!/bin/sh
# Regenerate corpus/ from corpus_src/*.txtpb with
# protoc --encode (run from anywhere), plus byte-level cases text format cannot express
# (empty, truncated, invalid UTF-8, two kinds in one message, an unknown field).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
enc() {
	protoc --encode=ccs.mtp.v1.EligibilityEvidence -I "$root/proto" "$root"/proto/ccs/mtp/v1/*.proto
}
for pair in corpus_src:corpus; do
	src=$here/${pair%%:*}
	out=$here/${pair##*:}
	mkdir -p "$out"
	for t in "$src"/*.txtpb; do
		enc < "$t" > "$out/$(basename "$t" .txtpb).bin"
	done
done
out=$here/corpus
: > "$out/empty.bin"
head -c 30 "$out/valid_medical_cp.bin" > "$out/truncated.bin"
# Field 1 (evidence_id) = "\xff\xfe": invalid UTF-8 that protoc refuses to write.
printf '\012\002\377\376' > "$out/invalid_utf8_evidence_id.bin"
# Two kinds of the oneof in one message: the parser keeps the last one.
cat "$out/valid_application.bin" "$out/valid_mtu_plan_change.bin" > "$out/two_kinds.bin"
# A valid residency followed by unknown field 99 (varint 1): skipped by the parser.
cat "$out/valid_residency_other_county.bin" > "$out/unknown_field.bin"
printf '\230\006\001' >> "$out/unknown_field.bin"
