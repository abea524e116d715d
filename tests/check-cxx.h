// SPDX-License-Identifier: MIT
// check-cxx.h - CHECK(cond) for the C++ tests, which run without Check:
// on failure, say where and what, and return 1 from main().
#ifndef USLAB_TESTS_CHECK_CXX_H
#define USLAB_TESTS_CHECK_CXX_H

#include <cstdio>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			std::fprintf(stderr, "%s:%d: %s\n", __FILE__,        \
				     __LINE__, #cond);                       \
			return 1;                                            \
		}                                                            \
	} while (0)

#endif
