//! gbb-elf's tests on real ELF files: one test binary (see docs/ARCHITECTURE.md, "Tests").

mod check;
mod index;
mod support;
