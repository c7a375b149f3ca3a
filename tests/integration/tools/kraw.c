/*
 * ccs-test-kraw: produce raw records for tests that need what ccsctl refuses to make:
 * undecodable values, missing or wrong CloudEvents headers, duplicates with a chosen ce_id.
 *
 *   ccs-test-kraw BOOTSTRAP TOPIC < records
 *
 * One record per line, three tab-separated fields:  KEY  HEADERS  VALUE_HEX
 * KEY is "-" for none; HEADERS is "-" or name=value pairs joined by ';'; VALUE_HEX is the
 * value in hex ("-" for empty). Exits non-zero unless every record was acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static int failed;

static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		fprintf(stderr, "kraw: delivery failed: %s\n", rd_kafka_err2str(m->err));
		failed++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	char err[512];
	static char line[1 << 20];
	unsigned char *val = malloc(sizeof(line) / 2 + 1);
	int n = 0;

	if (argc != 3 || !val) {
		fprintf(stderr, "usage: ccs-test-kraw BOOTSTRAP TOPIC < records\n");
		return 2;
	}
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	if (rd_kafka_conf_set(c, "bootstrap.servers", argv[1], err, sizeof(err)) ||
	    rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err))) {
		fprintf(stderr, "kraw: %s\n", err);
		return 2;
	}
	rd_kafka_conf_set_dr_msg_cb(c, dr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kraw: %s\n", err);
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		char *key = line, *hdrs = strchr(key, '\t'), *hex;
		if (!hdrs || !(hex = strchr(hdrs + 1, '\t'))) {
			fprintf(stderr, "kraw: line %d: expected KEY<TAB>HEADERS<TAB>VALUE_HEX\n", n + 1);
			return 2;
		}
		*hdrs++ = '\0';
		*hex++ = '\0';
		size_t vlen = 0;
		if (strcmp(hex, "-") != 0) {
			for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
				int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
				if (hi < 0 || lo < 0) {
					fprintf(stderr, "kraw: line %d: bad hex\n", n + 1);
					return 2;
				}
				val[vlen++] = (unsigned char)(hi << 4 | lo);
			}
		}
		rd_kafka_headers_t *h = rd_kafka_headers_new(8);
		if (strcmp(hdrs, "-") != 0) {
			char *save = NULL;
			for (char *kv = strtok_r(hdrs, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
				char *eq = strchr(kv, '=');
				if (eq)
					*eq = '\0';
				rd_kafka_header_add(h, kv, -1, eq ? eq + 1 : NULL, eq ? -1 : 0);
			}
		}
		/* RD_KAFKA_V_KEY expands to (void *)KEY without parentheses: a conditional passed
		 * as KEY would cast its condition (clang: -Wint-to-void-pointer-cast), so the key
		 * and its length are plain variables. */
		char *kp = strcmp(key, "-") != 0 ? key : NULL;
		size_t klen = kp ? strlen(kp) : 0;
		rd_kafka_resp_err_t e;
		do {
			e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(kp, klen),
					      RD_KAFKA_V_VALUE(val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 100);
		} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (e) {
			fprintf(stderr, "kraw: produce: %s\n", rd_kafka_err2str(e));
			return 1;
		}
		n++;
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 30000);
	if (rd_kafka_outq_len(rk) > 0)
		failed++;
	rd_kafka_destroy(rk);
	free(val);
	fprintf(stderr, "kraw: produced %d records, %d failed\n", n, failed);
	return failed ? 1 : 0;
}
