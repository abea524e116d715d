// SPDX-License-Identifier: MIT
//
// test-kapi-cxx.cc - kernel code built as C++: kmem_cache_create()'s
// two forms reach the right function through overloading, as C reaches
// them through _Generic (test-kapi.c).
#include <uslab.h>

#include "check-cxx.h"

#include <cstdint>
#include <cstdio>

static unsigned int ctor_runs;

static void ctor(void *p)
{
	*static_cast<long *>(p) = 42;
	ctor_runs++;
}

struct node {
	long key;
	char name[20];
};

int main()
{
	kmem_cache_args args = {};
	args.align = 512;
	args.ctor = ctor;

	kmem_cache *with_args = kmem_cache_create("cxx-args", 40, &args,
						  SLAB_ACCOUNT);
	kmem_cache *no_args = kmem_cache_create("cxx-null", 40, nullptr, 0);
	kmem_cache *classic = kmem_cache_create("cxx-five", 40, 256, 0, nullptr);
	kmem_cache *usercopy = KMEM_CACHE_USERCOPY(node, 0, name);

	CHECK(with_args && no_args && classic && usercopy);
	long *p = static_cast<long *>(kmem_cache_alloc(with_args, GFP_KERNEL));
	CHECK(reinterpret_cast<std::uintptr_t>(p) % 512 == 0);
	CHECK(*p == 42 && ctor_runs > 0);
	kmem_cache_free(with_args, p);
	void *q = kmem_cache_alloc(classic, GFP_KERNEL);
	CHECK(reinterpret_cast<std::uintptr_t>(q) % 256 == 0);
	kmem_cache_free(classic, q);
	args.usersize = 41;	// past the object: refused
	CHECK(kmem_cache_create("cxx-bad", 40, &args, 0) == nullptr);
	kmem_cache_destroy(with_args);
	kmem_cache_destroy(no_args);
	kmem_cache_destroy(classic);
	kmem_cache_destroy(usercopy);
	std::puts("kmem_cache_create: both forms from C++");
	return 0;
}
