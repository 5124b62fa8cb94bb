/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which properties PropertiesChanged announces: each changing property of
 * the tables, and only it, when its field changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bus.h"
#include "macro.h"

static void base(BusProps *p) {
        *p = (BusProps) { .ksm_running = 1, .pages_to_scan = 100, .free_kib = 2048, .general_profit_bytes = -5 };
        strcpy(p->version, "1.0");
        strcpy(p->policy, "compat");
        strcpy(p->last_reason, "stop");
}

/* Change one property's field in place, whatever its type. */
static void touch(BusProps *p, const BusPropInfo *info) {
        char *field = (char *) p + info->offset;

        if (info->type == 's')
                strcpy(field, "changed");
        else
                field[0] ^= 1;
}

static void check_tables(const BusPropInfo *props, size_t n) {
        for (size_t i = 0; i < n; i++) {
                BusProps a, b;
                const char *names[BUS_N_TUNER_PROPS + BUS_N_PROFIT_PROPS];

                base(&a);
                base(&b);
                touch(&b, &props[i]);
                assert_int_equal(bus_props_changed(props, n, &a, &b, names), 1);
                assert_string_equal(names[0], props[i].name);
                assert_int_equal(bus_props_changed(props, n, &a, &a, names), 0);
        }
}

static void test_each_property(void **state) {
        (void) state;
        check_tables(bus_tuner_props, BUS_N_TUNER_PROPS);
        check_tables(bus_profit_props, BUS_N_PROFIT_PROPS);
}

/* Several at once, in table order; the constant Version is never announced. */
static void test_several(void **state) {
        BusProps a, b;
        const char *names[BUS_N_TUNER_PROPS];

        (void) state;
        base(&a);
        b = a;
        strcpy(b.version, "2.0");
        b.free_kib = 1;
        b.full_scans = 9;
        strcpy(b.policy, "adaptive");
        assert_int_equal(bus_props_changed(bus_tuner_props, BUS_N_TUNER_PROPS, &a, &b, names), 3);
        assert_string_equal(names[0], "Policy");
        assert_string_equal(names[1], "FreeKiB");
        assert_string_equal(names[2], "FullScans");
}

/* The vtable is made from the same list: its changing properties, in order. */
static void test_vtable_matches(void **state) {
        size_t i = 0;

        (void) state;
        for (const sd_bus_vtable *v = bus_tuner_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY || !(v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE))
                        continue;
                assert_true(i < BUS_N_TUNER_PROPS);
                assert_string_equal(v->x.property.member, bus_tuner_props[i].name);
                assert_int_equal(v->x.property.offset, offsetof(Bus, props) + bus_tuner_props[i].offset);
                i++;
        }
        assert_int_equal(i, BUS_N_TUNER_PROPS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_property),
                cmocka_unit_test(test_several),
                cmocka_unit_test(test_vtable_matches),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
