// SPDX-License-Identifier: MIT
//
// test-malloc-cxx.cc - C++ programs run on libuslab-malloc: operator new
// and delete reach it through libstdc++, aligned new included.
#include <uslab.h>

#include "check-cxx.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

static std::uint64_t malloc_allocs()
{
	std::uint64_t total = 0;

	std::vector<kmem_cache *> seen;

	for (std::size_t size = 8; size <= KMALLOC_MAX_CACHE_SIZE; size += 8) {
		kmem_cache *c = uslab_malloc_cache(size);
		struct uslab_cache_stats st = {};

		if (!seen.empty() && seen.back() == c)
			continue;
		seen.push_back(c);
		st.version = USLAB_CACHE_STATS_VERSION;
		if (uslab_cache_stats(c, &st) != 0)
			return 0;
		total += st.allocs;
	}
	return total;
}

struct alignas(256) wide {
	char bytes[256];
};

int main()
{
#ifdef USLAB_TEST_SANITIZED
	std::puts("skipped: built with a sanitizer");
	return 77;
#endif
	const char *pre = std::getenv("LD_PRELOAD");

	if (pre && std::strstr(pre, "vgpreload")) {
		std::puts("skipped: valgrind replaces operator new");
		return 77;
	}
	std::uint64_t before = malloc_allocs();
	std::map<int, std::string> m;
	std::vector<std::unique_ptr<int>> v;

	for (int i = 0; i < 10000; i++) {
		m[i] = std::string(static_cast<std::size_t>(i % 200), 'x');
		v.push_back(std::make_unique<int>(i));
	}
	CHECK(m.size() == 10000 && m[199].size() == 199);
	CHECK(*v[9999] == 9999);
	CHECK(malloc_allocs() >= before + 20000);

	auto *w = new wide[3];
	CHECK(reinterpret_cast<std::uintptr_t>(w) % 256 == 0);
	delete[] w;
	auto *big = new char[10u << 20];
	big[(10u << 20) - 1] = 1;
	delete[] big;
	std::puts("C++ allocations served by uslab");
	return 0;
}
