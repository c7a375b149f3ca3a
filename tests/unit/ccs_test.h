/*
 * A minimal unit-test harness in the libuv manner: each test binary is its own process, each
 * assertion prints both operands, and the binary ends with "N passed, N failed".
 *
 *   CCS_TEST(name) { CCS_EQ_INT(1 + 1, 2); }
 *   int main(void) { return ccs_test_run(); }  -- tests register themselves via constructors.
 */
#ifndef CCS_TEST_H
#define CCS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*ccs_test_fn)(void);
struct ccs_test_case {
	const char *name;
	ccs_test_fn fn;
};

#define CCS_TEST_MAX 1024
extern struct ccs_test_case ccs_test_cases[CCS_TEST_MAX];
extern int ccs_test_ncases;
extern int ccs_test_failed_now;

#define CCS_TEST(name)                                                              \
	static void test_##name(void);                                              \
	__attribute__((constructor)) static void register_##name(void)             \
	{                                                                           \
		if (ccs_test_ncases < CCS_TEST_MAX)                                 \
			ccs_test_cases[ccs_test_ncases++] =                         \
				(struct ccs_test_case){#name, test_##name};         \
	}                                                                           \
	static void test_##name(void)

#define CCS_FAIL_(fmt, ...)                                                         \
	do {                                                                        \
		fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
		ccs_test_failed_now = 1;                                            \
	} while (0)

#define CCS_TRUE(c)                                                                 \
	do {                                                                        \
		if (!(c))                                                           \
			CCS_FAIL_("expected true: %s", #c);                         \
	} while (0)

#define CCS_EQ_INT(a, b)                                                            \
	do {                                                                        \
		long long a_ = (long long)(a), b_ = (long long)(b);                 \
		if (a_ != b_)                                                       \
			CCS_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);        \
	} while (0)

#define CCS_EQ_STR(a, b)                                                            \
	do {                                                                        \
		const char *a_ = (a), *b_ = (b);                                    \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                              \
			CCS_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,               \
				  a_ ? a_ : "(null)", b_ ? b_ : "(null)");          \
	} while (0)

/* Define once, in the file that has main(). */
#define CCS_TEST_MAIN()                                                             \
	struct ccs_test_case ccs_test_cases[CCS_TEST_MAX];                          \
	int ccs_test_ncases;                                                        \
	int ccs_test_failed_now;                                                    \
	int main(int argc, char **argv)                                             \
	{                                                                           \
		int passed = 0, failed = 0;                                         \
		for (int i = 0; i < ccs_test_ncases; i++) {                         \
			if (argc > 1 && strcmp(argv[1], ccs_test_cases[i].name) != 0) \
				continue;                                           \
			ccs_test_failed_now = 0;                                    \
			ccs_test_cases[i].fn();                                     \
			printf("%s %s\n", ccs_test_failed_now ? "FAIL" : "ok  ",   \
			       ccs_test_cases[i].name);                             \
			if (ccs_test_failed_now)                                    \
				failed++;                                           \
			else                                                        \
				passed++;                                           \
		}                                                                   \
		printf("%d passed, %d failed\n", passed, failed);                   \
		return failed ? 1 : 0;                                              \
	}

#endif
