//! Internal macros.

/// Declares a `const fn`, or a plain `fn` under loom (whose atomics have no
/// `const` constructors), from one body.
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$meta])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$meta])* $vis fn $($rest)*
    };
}
