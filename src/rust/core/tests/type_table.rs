//! The type table's macros work from another crate (the bindings use the
//! core's table the same way).

use mmapcore::ctype::table;
use mmapcore::Kind;

#[test]
fn for_each_scalar_works_outside_the_core_crate() {
    let mut rows = Vec::new();
    macro_rules! collect {
        ($v:ident, $name:expr, $codec:ty, $($rest:tt)*) => {
            rows.push((Kind::$v, $name, <$codec as mmapcore::codec::Codec>::BYTES));
        };
    }
    mmapcore::for_each_scalar!(collect);
    let want: Vec<_> = table().iter().map(|r| (r.kind, r.name, r.bytes)).collect();
    assert_eq!(rows, want);
}

#[test]
fn scalar_table_hands_over_every_row_at_once() {
    macro_rules! names {
        (($prefix:literal) $([$v:ident, $name:literal, $($rest:tt)*])*) => {
            [$(concat!($prefix, $name)),*]
        };
    }
    let all = mmapcore::scalar_table!(names, "mm_");
    assert_eq!(all.len(), Kind::ALL.len());
    assert_eq!(all[0], "mm_uchar");
    assert!(all.contains(&"mm_int24"));
}
