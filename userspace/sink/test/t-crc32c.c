// SPDX-License-Identifier: MIT
/* t-crc32c: the SSE4.2 and the software CRC32C agree with the standard check
 * values and with each other on every length and alignment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static int fails;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("not ok: " __VA_ARGS__);				\
		printf("\n");						\
		fails++;						\
	}								\
} while (0)

int main(void)
{
	static const unsigned char zeros[32], ones[32] = {
		[0 ... 31] = 0xff };
	unsigned char inc[32], *buf;
	unsigned int i, off, len;
	uint32_t a, b;
	int hw = hs_crc32c_hw_available();

	for (i = 0; i < 32; i++)
		inc[i] = (unsigned char)i;
	/* RFC 3720 B.4 and the usual check value. */
	CHECK(hs_crc32c_sw(0, "123456789", 9) == 0xe3069283, "sw check value");
	CHECK(hs_crc32c_sw(0, zeros, 32) == 0x8a9136aa, "sw 32 zeros");
	CHECK(hs_crc32c_sw(0, ones, 32) == 0x62a8ab43, "sw 32 ones");
	CHECK(hs_crc32c_sw(0, inc, 32) == 0x46dd794e, "sw incrementing");
	CHECK(hs_crc32c_sw(0, "", 0) == 0, "sw empty");
	if (hw) {
		CHECK(hs_crc32c_hw(0, "123456789", 9) == 0xe3069283, "hw check value");
		CHECK(hs_crc32c_hw(0, zeros, 32) == 0x8a9136aa, "hw 32 zeros");
		CHECK(hs_crc32c_hw(0, ones, 32) == 0x62a8ab43, "hw 32 ones");
		CHECK(hs_crc32c_hw(0, inc, 32) == 0x46dd794e, "hw incrementing");
	} else {
		printf("# no SSE4.2: hardware CRC32C not testable here\n");
	}

	buf = malloc(70000);
	if (!buf)
		return 1;
	srand(1);
	for (i = 0; i < 70000; i++)
		buf[i] = (unsigned char)rand();
	for (off = 0; off < 9; off++) {
		for (len = 0; len < 300; len++) {
			a = hs_crc32c_sw(0, buf + off, len);
			b = hs_crc32c(0, buf + off, len);
			CHECK(a == b, "dispatch off %u len %u", off, len);
			if (hw)
				CHECK(a == hs_crc32c_hw(0, buf + off, len),
				      "hw off %u len %u", off, len);
		}
	}
	/* Chaining: crc(a|b) == crc(crc(a), b). */
	a = hs_crc32c_sw(0, buf, 65536 + 3);
	b = hs_crc32c_sw(hs_crc32c_sw(0, buf, 1000), buf + 1000, 64539);
	CHECK(a == b, "sw chaining");
	if (hw) {
		b = hs_crc32c_hw(hs_crc32c_hw(0, buf, 777), buf + 777, 64762);
		CHECK(a == b, "hw chaining");
	}
	free(buf);
	printf("%s: crc32c (%s)\n", fails ? "FAIL" : "ok", hs_crc32c_impl());
	return fails ? 1 : 0;
}
