/* SPDX-License-Identifier: MIT */
/*
 * cfi.c - the cached CFI unwinder; see cfi.h.
 *
 * A rule, for one return address: the CFA is rsp or rbp of the frame
 * plus cfa_off; the return address is at CFA - 8 (x86-64's CIEs say so;
 * anything else is not understood); the caller's rbp is at CFA + rbp_off,
 * or rbp is unchanged (rbp_off 0).  Packed in 64 bits with its state, so
 * that a cache entry is two words: the rule, and the address, published
 * after it in a slot claimed by CAS.
 *
 * The CFI is DWARF's (the .eh_frame sections, the LSB's encodings): the
 * object's PT_GNU_EH_FRAME header holds a sorted table of each
 * function's first address and FDE; the FDE and its CIE hold the
 * instructions that, run up to the address, give the rule.
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "cfi.h"

#if defined(__x86_64__) && HAVE_DL_FIND_OBJECT
#include <dlfcn.h>

/* DWARF register numbers on x86-64. */
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };

/* The rule's state, in its low byte. */
enum {
	RULE_OK = 1,		/* cfa_rbp, cfa_off, rbp_off hold */
	RULE_END = 2,		/* the outermost frame: the stack ends */
	RULE_NONE = 3,		/* no CFI: the stack ends here too */
	RULE_UNKNOWN = 4,	/* CFI this unwinder does not understand */
};

struct rule {
	int state;
	bool cfa_rbp;		/* CFA from rbp, else from rsp */
	int32_t cfa_off;
	int32_t rbp_off;	/* 0: the caller's rbp is this frame's */
};

static uint64_t rule_pack(struct rule r)
{
	if (r.state != RULE_OK)
		return (uint64_t)r.state;
	return RULE_OK | (uint64_t)r.cfa_rbp << 8 |
	       (uint64_t)(uint32_t)r.cfa_off << 16 |
	       (uint64_t)(uint16_t)(int16_t)r.rbp_off << 48;
}

static struct rule rule_unpack(uint64_t v)
{
	struct rule r = { .state = (int)(v & 0xff) };

	if (r.state == RULE_OK) {
		r.cfa_rbp = (v >> 8) & 1;
		r.cfa_off = (int32_t)(uint32_t)(v >> 16);
		r.rbp_off = (int16_t)(uint16_t)(v >> 48);
	}
	return r;
}

/* ------------------------------------------------------------ the reader */

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint8_t rd_u8(struct reader *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* A LEB128 number's bits; *shift is how many were read, *last its last byte. */
static uint64_t rd_leb(struct reader *r, unsigned int *shift, uint8_t *last)
{
	uint64_t v = 0;
	uint8_t b;

	*shift = 0;
	do {
		b = rd_u8(r);
		if (*shift < 64)
			v |= (uint64_t)(b & 0x7f) << *shift;
		*shift += 7;
	} while ((b & 0x80) && !r->bad);
	*last = b;
	return v;
}

static uint64_t rd_uleb(struct reader *r)
{
	unsigned int shift;
	uint8_t last;

	return rd_leb(r, &shift, &last);
}

static int64_t rd_sleb(struct reader *r)
{
	unsigned int shift;
	uint8_t last;
	uint64_t v = rd_leb(r, &shift, &last);

	if (shift < 64 && (last & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

static uint64_t rd_fixed(struct reader *r, size_t n)
{
	uint64_t v = 0;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, n);	/* little-endian */
	r->p += n;
	return v;
}

/* DW_EH_PE_* */
enum {
	PE_ABSPTR = 0x00, PE_ULEB = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03,
	PE_UDATA8 = 0x04, PE_SLEB = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b,
	PE_SDATA8 = 0x0c, PE_PCREL = 0x10, PE_DATAREL = 0x30,
	PE_OMIT = 0xff,
};

/*
 * A pointer in encoding enc; pcrel against its own address, datarel
 * against dbase.  Indirect pointers (0x80) are read as their address,
 * which is all the callers skip over.
 */
static uintptr_t rd_encoded(struct reader *r, uint8_t enc, uintptr_t dbase)
{
	uintptr_t here = (uintptr_t)r->p, v;

	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x0f) {
	case PE_ABSPTR: v = (uintptr_t)rd_fixed(r, 8); break;
	case PE_ULEB: v = (uintptr_t)rd_uleb(r); break;
	case PE_UDATA2: v = (uintptr_t)rd_fixed(r, 2); break;
	case PE_UDATA4: v = (uintptr_t)rd_fixed(r, 4); break;
	case PE_UDATA8: v = (uintptr_t)rd_fixed(r, 8); break;
	case PE_SLEB: v = (uintptr_t)rd_sleb(r); break;
	case PE_SDATA2: v = (uintptr_t)(int16_t)rd_fixed(r, 2); break;
	case PE_SDATA4: v = (uintptr_t)(int32_t)rd_fixed(r, 4); break;
	case PE_SDATA8: v = (uintptr_t)rd_fixed(r, 8); break;
	default: r->bad = true; return 0;
	}
	switch (enc & 0x70) {
	case 0: break;
	case PE_PCREL: v += here; break;
	case PE_DATAREL: v += dbase; break;
	default: r->bad = true; return 0;
	}
	return v;
}

/* ----------------------------------------------------- finding the FDE */

/*
 * The FDE covering pc in the object whose .eh_frame_hdr is at hdr, or
 * NULL.  The table's entries are (initial location, FDE), both datarel
 * sdata4 as every linker writes them; another encoding is not searched.
 */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t pc)
{
	struct reader r = { hdr, hdr + 16, false };
	uint8_t version = rd_u8(&r), ptr_enc = rd_u8(&r);
	uint8_t count_enc = rd_u8(&r), table_enc = rd_u8(&r);
	const int32_t *table;
	uint64_t count, lo, hi;

	if (version != 1 || table_enc != (PE_DATAREL | PE_SDATA4))
		return NULL;
	r.end = hdr + 32;
	rd_encoded(&r, ptr_enc, (uintptr_t)hdr);
	count = rd_encoded(&r, count_enc, (uintptr_t)hdr);
	if (r.bad || count == 0)
		return NULL;
	table = (const int32_t *)(const void *)r.p;
	/* The last entry whose initial location is at most pc. */
	lo = 0;
	hi = count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)hdr + table[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if ((uintptr_t)hdr + table[2 * lo] > pc)
		return NULL;
	return hdr + table[2 * lo + 1];
}

/* --------------------------------------------------- running the CFI */

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool has_aug;		/* 'z': FDEs carry augmentation data */
	bool signal;		/* 'S': a signal frame */
	const uint8_t *insns, *insns_end;
};

static bool parse_cie(const uint8_t *p, struct cie *c)
{
	struct reader r = { p, p + 4, false };
	uint32_t len = (uint32_t)rd_fixed(&r, 4);
	const char *aug;
	uint8_t version;

	if (len == 0 || len == 0xffffffffu)
		return false;
	r.end = p + 4 + len;
	if (rd_fixed(&r, 4) != 0)		/* a CIE's id */
		return false;
	version = rd_u8(&r);
	if (version != 1 && version != 3)
		return false;
	aug = (const char *)r.p;
	while (rd_u8(&r) != 0 && !r.bad)
		;
	if (aug[0] == 'e' && aug[1] == 'h')	/* old GCC: a pointer */
		rd_fixed(&r, 8);
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	if ((version == 1 ? rd_u8(&r) : rd_uleb(&r)) != REG_RA)
		return false;
	c->fde_enc = PE_ABSPTR;
	c->has_aug = false;
	c->signal = false;
	for (const char *a = aug; *a && !r.bad; a++) {
		switch (*a) {
		case 'z':
			rd_uleb(&r);
			c->has_aug = true;
			break;
		case 'R': c->fde_enc = rd_u8(&r); break;
		case 'L': rd_u8(&r); break;
		case 'P': rd_encoded(&r, rd_u8(&r), 0); break;
		case 'S': c->signal = true; break;
		case 'e': a++; break;	/* "eh", read above */
		default: return false;	/* its data's length is unknown */
		}
	}
	c->insns = r.p;
	c->insns_end = r.end;
	return !r.bad;
}

#define STATE_STACK 8

struct cfa_state {
	int cfa_reg;
	int64_t cfa_off;
	int64_t rbp_off;	/* 0: unchanged */
	bool rbp_lost;		/* rbp's rule is one we do not follow */
};

/*
 * Run the instructions in [p, end) while the location is at most pc
 * (loc is updated); the CIE's initial rules are in *init for
 * DW_CFA_restore.  Returns false on an instruction not understood.
 */
static bool run_cfi(const uint8_t *p, const uint8_t *end, const struct cie *c,
		    uintptr_t *loc, uintptr_t pc, struct cfa_state *s,
		    const struct cfa_state *init)
{
	struct cfa_state stack[STATE_STACK];
	unsigned int depth = 0;
	struct reader r = { p, end, false };

	while (r.p < r.end && !r.bad) {
		uint8_t op = rd_u8(&r);
		uint64_t reg = 0, delta = 0;
		int64_t off;

		switch (op & 0xc0) {
		case 0x40:	/* advance_loc */
			delta = (op & 0x3f) * c->code_align;
			goto advance;
		case 0x80:	/* offset */
			reg = op & 0x3f;
			off = (int64_t)rd_uleb(&r) * c->data_align;
			goto offset;
		case 0xc0:	/* restore */
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00:	/* nop */
			break;
		case 0x01:	/* set_loc */
			*loc = rd_encoded(&r, c->fde_enc, 0);
			if (*loc > pc)
				return true;
			break;
		case 0x02: delta = rd_fixed(&r, 1) * c->code_align; goto advance;
		case 0x03: delta = rd_fixed(&r, 2) * c->code_align; goto advance;
		case 0x04: delta = rd_fixed(&r, 4) * c->code_align; goto advance;
		case 0x05:	/* offset_extended */
			reg = rd_uleb(&r);
			off = (int64_t)rd_uleb(&r) * c->data_align;
			goto offset;
		case 0x06:	/* restore_extended */
			reg = rd_uleb(&r);
			goto restore;
		case 0x07:	/* undefined */
			reg = rd_uleb(&r);
			if (reg == REG_RA)
				s->cfa_reg = -1;	/* the outermost frame */
			else if (reg == REG_RBP)
				s->rbp_lost = true;
			break;
		case 0x08:	/* same_value */
			reg = rd_uleb(&r);
			if (reg == REG_RBP) {
				s->rbp_off = 0;
				s->rbp_lost = false;
			}
			break;
		case 0x09:	/* register */
			reg = rd_uleb(&r);
			rd_uleb(&r);
			if (reg == REG_RA)
				return false;
			if (reg == REG_RBP)
				s->rbp_lost = true;
			break;
		case 0x0a:	/* remember_state */
			if (depth == STATE_STACK)
				return false;
			stack[depth++] = *s;
			break;
		case 0x0b:	/* restore_state */
			if (depth == 0)
				return false;
			*s = stack[--depth];
			break;
		case 0x0c:	/* def_cfa */
			s->cfa_reg = (int)rd_uleb(&r);
			s->cfa_off = (int64_t)rd_uleb(&r);
			break;
		case 0x0d:	/* def_cfa_register */
			s->cfa_reg = (int)rd_uleb(&r);
			break;
		case 0x0e:	/* def_cfa_offset */
			s->cfa_off = (int64_t)rd_uleb(&r);
			break;
		case 0x11:	/* offset_extended_sf */
			reg = rd_uleb(&r);
			off = rd_sleb(&r) * c->data_align;
			goto offset;
		case 0x12:	/* def_cfa_sf */
			s->cfa_reg = (int)rd_uleb(&r);
			s->cfa_off = rd_sleb(&r) * c->data_align;
			break;
		case 0x13:	/* def_cfa_offset_sf */
			s->cfa_off = rd_sleb(&r) * c->data_align;
			break;
		case 0x10:	/* expression */
		case 0x16:	/* val_expression */
			reg = rd_uleb(&r);
			delta = rd_uleb(&r);
			if (reg == REG_RA || (size_t)(r.end - r.p) < delta)
				return false;
			r.p += delta;
			if (reg == REG_RBP)
				s->rbp_lost = true;
			break;
		case 0x14:	/* val_offset */
			reg = rd_uleb(&r);
			rd_uleb(&r);
			goto lost;
		case 0x15:	/* val_offset_sf */
			reg = rd_uleb(&r);
			rd_sleb(&r);
			goto lost;
		case 0x2e:	/* GNU_args_size */
			rd_uleb(&r);
			break;
		default:	/* def_cfa_expression (PLT stubs, realigned
				   stacks), GNU_negative_offset_extended, ... */
			return false;
		}
		continue;
advance:
		*loc += delta;
		if (*loc > pc)
			return true;
		continue;
offset:
		if (reg == REG_RBP) {
			s->rbp_off = off;
			s->rbp_lost = false;
		} else if (reg == REG_RA && off != -8) {
			return false;
		}
		continue;
restore:
		if (reg == REG_RBP) {
			s->rbp_off = init ? init->rbp_off : 0;
			s->rbp_lost = init ? init->rbp_lost : false;
		}
		continue;
lost:
		if (reg == REG_RA)
			return false;
		if (reg == REG_RBP)
			s->rbp_lost = true;
	}
	return !r.bad;
}

/* The rule at pc (an address inside a call instruction). */
static struct rule compute_rule(uintptr_t pc)
{
	struct rule rule = { .state = RULE_UNKNOWN };
	struct dl_find_object obj;
	const uint8_t *fde, *cie_at;
	struct reader r;
	struct cfa_state s = { .cfa_reg = REG_RSP, .cfa_off = 8 }, init;
	struct cie c;
	uint32_t len;
	uintptr_t start, range, loc;

	if (_dl_find_object((void *)pc, &obj) != 0 || !obj.dlfo_eh_frame) {
		rule.state = RULE_NONE;
		return rule;
	}
	fde = find_fde(obj.dlfo_eh_frame, pc);
	if (!fde) {
		rule.state = RULE_NONE;
		return rule;
	}
	r = (struct reader){ fde, fde + 8, false };
	len = (uint32_t)rd_fixed(&r, 4);
	if (len == 0 || len == 0xffffffffu)
		return rule;
	r.end = fde + 4 + len;
	cie_at = r.p;
	cie_at -= (uint32_t)rd_fixed(&r, 4);
	if (r.bad || !parse_cie(cie_at, &c) || c.signal)
		return rule;
	start = rd_encoded(&r, c.fde_enc, 0);
	range = rd_encoded(&r, c.fde_enc & 0x0f, 0);
	if (r.bad || pc < start || pc - start >= range) {
		rule.state = RULE_NONE;		/* a gap between functions */
		return rule;
	}
	if (c.has_aug) {
		uint64_t n = rd_uleb(&r);

		if ((size_t)(r.end - r.p) < n)
			return rule;
		r.p += n;
	}
	loc = start;
	if (!run_cfi(c.insns, c.insns_end, &c, &loc, UINTPTR_MAX, &s, NULL))
		return rule;
	init = s;
	loc = start;
	if (!run_cfi(r.p, r.end, &c, &loc, pc, &s, &init))
		return rule;
	if (s.cfa_reg == -1) {
		rule.state = RULE_END;
		return rule;
	}
	if ((s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP) || s.rbp_lost ||
	    s.cfa_off <= 0 || s.cfa_off > INT32_MAX ||
	    s.rbp_off < INT16_MIN || s.rbp_off > INT16_MAX)
		return rule;
	rule.state = RULE_OK;
	rule.cfa_rbp = s.cfa_reg == REG_RBP;
	rule.cfa_off = (int32_t)s.cfa_off;
	rule.rbp_off = (int32_t)s.rbp_off;
	return rule;
}

/* ------------------------------------------------------------- the cache */

#define CACHE_BITS 12
#define CACHE_SLOTS (1u << CACHE_BITS)
#define CACHE_PROBE 8

static struct {
	_Atomic uintptr_t pc;	/* 0: empty; published after rule */
	_Atomic uint64_t rule;
} cache[CACHE_SLOTS];

static struct rule rule_at(uintptr_t pc)
{
	uintptr_t h = (pc * 0x9e3779b97f4a7c15ull) >> (64 - CACHE_BITS);
	struct rule rule;

	for (unsigned int i = 0; i < CACHE_PROBE; i++) {
		unsigned int at = (unsigned int)(h + i) & (CACHE_SLOTS - 1);
		uintptr_t key = atomic_load_explicit(&cache[at].pc,
						     memory_order_acquire);

		if (key == pc)
			return rule_unpack(atomic_load_explicit(
				&cache[at].rule, memory_order_relaxed));
		if (key == 0)
			break;
	}
	rule = compute_rule(pc);
	/*
	 * Claim an empty slot for it: the rule first, then the key.  A
	 * thread that loses the race for a slot leaves the rule uncached;
	 * two threads may cache one address twice, harmlessly.
	 */
	for (unsigned int i = 0; i < CACHE_PROBE; i++) {
		unsigned int at = (unsigned int)(h + i) & (CACHE_SLOTS - 1);
		uintptr_t expect = 0;

		if (atomic_load_explicit(&cache[at].pc, memory_order_relaxed))
			continue;
		/* Reserve with an odd key no return address has... */
		if (!atomic_compare_exchange_strong(&cache[at].pc, &expect, 1))
			continue;
		atomic_store_explicit(&cache[at].rule, rule_pack(rule),
				      memory_order_relaxed);
		/* ...then publish. */
		atomic_store_explicit(&cache[at].pc, pc, memory_order_release);
		break;
	}
	return rule;
}

/* ------------------------------------------------------------- the walk */

/*
 * How far one frame's CFA may lie above the last: more than any frame
 * a program has (a larger one ends the walk as unreadable, not a crash).
 */
#define FRAME_MAX ((uintptr_t)64 << 20)

__attribute__((noinline, no_sanitize_address)) int
us_unwind(void **frames, unsigned int max)
{
	/* This function keeps rbp as its frame pointer: it asks for it. */
	uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t pc = (uintptr_t)__builtin_return_address(0);
	uintptr_t sp = (uintptr_t)(fp + 2), bp = fp[0];
	unsigned int n = 0;

	while (n < max) {
		struct rule rule;
		uintptr_t cfa;

		if (pc < 4096)
			break;
		frames[n++] = (void *)pc;
		rule = rule_at(pc - 1);		/* inside the call */
		if (rule.state == RULE_END || rule.state == RULE_NONE)
			break;
		if (rule.state != RULE_OK)
			return -1;
		cfa = (rule.cfa_rbp ? bp : sp) + (uintptr_t)(intptr_t)rule.cfa_off;
		if (cfa <= sp || cfa - sp > FRAME_MAX || (cfa & 7))
			return -1;
		if (rule.rbp_off)
			bp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)rule.rbp_off);
		pc = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
	}
	return (int)n;
}

#else

int us_unwind(void **frames, unsigned int max)
{
	(void)frames;
	(void)max;
	return -1;
}

#endif
