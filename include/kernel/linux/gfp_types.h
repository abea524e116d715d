/* SPDX-License-Identifier: MIT */
/*
 * <linux/gfp_types.h> for kernel code built against uslab (uslab(7),
 * PORTING KERNEL CODE): Linux 6.12's GFP flags with the kernel's bit
 * values, as <uslab.h> defines them; <uslab.h> also defines this
 * header's kernel guard, so the kernel's own copy, should a path reach
 * it after this one, changes nothing.
 */
/* The kernel's types first, as its own header has them (gfp_t). */
#include <linux/types.h>
#include <uslab.h>
