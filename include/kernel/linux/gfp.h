/* SPDX-License-Identifier: MIT */
/*
 * <linux/gfp.h> for kernel code built against uslab (uslab(7), PORTING
 * KERNEL CODE): the GFP flags, masks and tests of Linux 6.12 that slab
 * users need (gfpflags_allow_blocking(), gfp_has_io_fs(),
 * gfp_nested_mask()), which <uslab.h> has; not the page allocator.
 */
#ifndef __LINUX_GFP_H
#define __LINUX_GFP_H

#include <linux/gfp_types.h>

#endif /* __LINUX_GFP_H */
