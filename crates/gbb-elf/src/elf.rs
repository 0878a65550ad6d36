//! What the dynamic loader needs from one ELF file, read from the front of a stream.
//!
//! The `object` crate reads it, not goblin: object's low-level `read::elf` traits
//! (`FileHeader`, `ProgramHeader`, `Dyn`) parse only the parts asked for, from any byte slice,
//! so we read a file's header, its program headers, its `PT_INTERP` and `PT_DYNAMIC` segments
//! and the dynamic string table and nothing else. goblin's `Elf::parse` also reads the section
//! headers and symbol tables, which sit at the end of the file, so it needs every byte of every
//! library; object is also the crate the Rust toolchain itself uses for ELF (gimli, backtraces)
//! and was already in our `Cargo.lock`.
//!
//! A file is read through a tar entry, which can only go forward, so [`read_elf`] grows its
//! buffer step by step to the furthest offset the next step needs (header, then program
//! headers, then the segments, then the string table) and stops there; the tar reader skips
//! the rest of the entry.

use std::io::{self, Read};

use object::Endianness;
use object::elf::{self, FileHeader32, FileHeader64};
use object::read::StringTable;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use serde::{Deserialize, Serialize};

/// The word size of an ELF file. A 32-bit program can only load 32-bit libraries (the loader
/// skips a library of the other class and searches on), and its loader and default folders are
/// different ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElfClass {
    #[serde(rename = "32")]
    Elf32,
    #[serde(rename = "64")]
    Elf64,
}

/// What `e_type` says a file is. Only these two take part in loading: relocatable objects
/// (`.o`) and core dumps are not loaded and are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElfType {
    /// `ET_EXEC`: a position-dependent executable.
    Exec,
    /// `ET_DYN`: a shared library, the loader itself, or a position-independent executable
    /// (which has a `PT_INTERP`).
    Dyn,
}

/// What an ELF file asks of the loader: its kind and ABI, the loader it names and the
/// libraries it needs with the folders it adds to the search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfInfo {
    pub class: ElfClass,
    /// `true` for big-endian files; part of the ABI like the class (ppc64 and ppc64le share
    /// one `e_machine`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub big_endian: bool,
    /// `e_machine` (`EM_X86_64` is 62, `EM_AARCH64` 183, `EM_386` 3).
    pub machine: u16,
    #[serde(rename = "type")]
    pub elf_type: ElfType,
    /// `PT_INTERP`: the absolute path of the loader the kernel starts for this file. Present
    /// on dynamically linked executables (also position-independent ones, which are
    /// `ET_DYN`), absent on static ones and on ordinary libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// `DT_SONAME`: the name a library is loaded under. A file with a soname and a
    /// `PT_INTERP` is a library that can also be run (glibc's `libc.so.6` prints its version),
    /// not a program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soname: Option<String>,
    /// `DT_NEEDED`, in file order (the loader's order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needed: Vec<String>,
    /// `DT_RPATH`, as written (colon-separated, with `$ORIGIN` and friends unexpanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpath: Option<String>,
    /// `DT_RUNPATH`, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runpath: Option<String>,
}

impl ElfInfo {
    /// Whether this file is a program the image may run: it names a loader and is not a
    /// library (position-independent programs are `ET_DYN` too, but have no soname).
    pub fn is_program(&self) -> bool {
        self.interpreter.is_some() && !(self.elf_type == ElfType::Dyn && self.soname.is_some())
    }

    /// Whether `library` can be loaded into a process of this file: the loader skips a
    /// library of another class, byte order or machine and goes on searching.
    pub fn same_abi(&self, library: &ElfInfo) -> bool {
        self.class == library.class
            && self.big_endian == library.big_endian
            && self.machine == library.machine
    }
}

/// Reads the ELF facts from the start of `reader`, or `None` when it is not an ELF file the
/// loader deals with: not ELF at all (a script, data), a relocatable object or core dump, or a
/// file too damaged to parse. Damaged files are not an error: packages ship ELF test fixtures
/// and firmware, and whether *they* load is not this check's question. `buffer` is reused
/// between calls to spare allocations.
pub(crate) fn read_elf(
    reader: &mut impl Read,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<ElfInfo>> {
    buffer.clear();
    let ident_len = size_of::<elf::Ident>();
    fill_to(reader, buffer, ident_len)?;
    if buffer.len() < ident_len || buffer[..4] != elf::ELFMAG {
        return Ok(None);
    }
    // `e_ident[EI_CLASS]`, the byte after the magic.
    match buffer[4] {
        elf::ELFCLASS32 => read_class::<FileHeader32<Endianness>>(reader, buffer, ElfClass::Elf32),
        elf::ELFCLASS64 => read_class::<FileHeader64<Endianness>>(reader, buffer, ElfClass::Elf64),
        _ => Ok(None),
    }
}

/// Reads until `buffer` holds `len` bytes or the stream ends.
fn fill_to(reader: &mut impl Read, buffer: &mut Vec<u8>, len: usize) -> io::Result<()> {
    if buffer.len() < len {
        let missing = (len - buffer.len()) as u64;
        reader.take(missing).read_to_end(buffer)?;
    }
    Ok(())
}

/// Offsets in a damaged file can be anything; a file claiming more than this is not read
/// further (the largest real libraries are a few hundred MiB, and their dynamic string table
/// sits near the start).
const MAX_READ: u64 = 1 << 30;

/// Adds `offset + size` as a byte count, `None` past [`MAX_READ`] or on overflow.
fn end_of(offset: u64, size: u64) -> Option<usize> {
    offset
        .checked_add(size)
        .filter(|end| *end <= MAX_READ)
        .map(|end| end as usize)
}

fn read_class<Elf: FileHeader<Endian = Endianness>>(
    reader: &mut impl Read,
    buffer: &mut Vec<u8>,
    class: ElfClass,
) -> io::Result<Option<ElfInfo>> {
    fill_to(reader, buffer, size_of::<Elf>())?;
    let Ok(header) = Elf::parse(buffer.as_slice()) else {
        return Ok(None);
    };
    let Ok(endian) = header.endian() else {
        return Ok(None);
    };
    let elf_type = match header.e_type(endian) {
        elf::ET_EXEC => ElfType::Exec,
        elf::ET_DYN => ElfType::Dyn,
        _ => return Ok(None),
    };
    let machine = header.e_machine(endian);
    let big_endian = header.is_big_endian();
    let phoff: u64 = header.e_phoff(endian).into();
    let phsize = u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian));
    let Some(phend) = end_of(phoff, phsize) else {
        return Ok(None);
    };

    fill_to(reader, buffer, phend)?;
    let Some(segments) = segments::<Elf>(buffer, endian) else {
        return Ok(None);
    };
    let Some(segments_end) = segments.iter().map(|&(_, end)| end).max() else {
        // No PT_INTERP and no PT_DYNAMIC: a static executable, or a library without
        // dynamic section (nothing to load for it either way).
        return Ok(Some(ElfInfo {
            class,
            big_endian,
            machine,
            elf_type,
            interpreter: None,
            soname: None,
            needed: Vec::new(),
            rpath: None,
            runpath: None,
        }));
    };
    fill_to(reader, buffer, segments_end)?;
    // The string table is found through the dynamic section, so it is read in a second step.
    let Some(strtab_end) = string_table_end::<Elf>(buffer, endian) else {
        return Ok(None);
    };
    fill_to(reader, buffer, strtab_end)?;
    Ok(facts::<Elf>(
        buffer, endian, class, machine, big_endian, elf_type,
    ))
}

/// The file ranges (`PT_INTERP`, `PT_DYNAMIC`) the next step needs, as (type, end offset).
fn segments<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    endian: Endianness,
) -> Option<Vec<(u32, usize)>> {
    let header = Elf::parse(data).ok()?;
    let headers = header.program_headers(endian, data).ok()?;
    headers
        .iter()
        .filter(|ph| matches!(ph.p_type(endian), elf::PT_INTERP | elf::PT_DYNAMIC))
        .map(|ph| {
            let (offset, size) = ph.file_range(endian);
            end_of(offset, size).map(|end| (ph.p_type(endian), end))
        })
        .collect()
}

/// Where the dynamic string table ends in the file: `DT_STRTAB` is a virtual address, mapped
/// to a file offset through the `PT_LOAD` segment that holds it. `Some(0)` when the file has no
/// dynamic section.
fn string_table_end<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    endian: Endianness,
) -> Option<usize> {
    let header = Elf::parse(data).ok()?;
    let headers = header.program_headers(endian, data).ok()?;
    let Some((address, size)) = string_table_address::<Elf>(headers, endian, data)? else {
        return Some(0);
    };
    let offset = file_offset::<Elf>(headers, endian, address)?;
    end_of(offset, size)
}

/// `DT_STRTAB` and `DT_STRSZ`: `Some(None)` without a dynamic section, `None` when it is
/// damaged.
fn string_table_address<Elf: FileHeader<Endian = Endianness>>(
    headers: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &[u8],
) -> Option<Option<(u64, u64)>> {
    let Some(dynamic) = dynamic_entries::<Elf>(headers, endian, data)? else {
        return Some(None);
    };
    let mut address = None;
    let mut size = None;
    for entry in dynamic {
        match entry.tag(endian) {
            elf::DT_NULL => break,
            elf::DT_STRTAB => address = Some(entry.val(endian)),
            elf::DT_STRSZ => size = Some(entry.val(endian)),
            _ => {}
        }
    }
    match (address, size) {
        (Some(address), Some(size)) => Some(Some((address, size))),
        // A dynamic section that names no string table has no strings to read.
        _ => Some(None),
    }
}

fn dynamic_entries<'data, Elf: FileHeader<Endian = Endianness>>(
    headers: &'data [Elf::ProgramHeader],
    endian: Endianness,
    data: &'data [u8],
) -> Option<Option<&'data [Elf::Dyn]>> {
    for ph in headers {
        if let Some(dynamic) = ph.dynamic(endian, data).ok()? {
            return Some(Some(dynamic));
        }
    }
    Some(None)
}

/// The file offset of a virtual address, through the `PT_LOAD` segment whose file bytes hold
/// it (the loader maps the file by these segments).
fn file_offset<Elf: FileHeader<Endian = Endianness>>(
    headers: &[Elf::ProgramHeader],
    endian: Endianness,
    address: u64,
) -> Option<u64> {
    headers
        .iter()
        .filter(|ph| ph.p_type(endian) == elf::PT_LOAD)
        .find_map(|ph| {
            let start: u64 = ph.p_vaddr(endian).into();
            let size: u64 = ph.p_filesz(endian).into();
            let offset: u64 = ph.p_offset(endian).into();
            (address >= start && address - start < size).then(|| offset + (address - start))
        })
}

fn facts<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    endian: Endianness,
    class: ElfClass,
    machine: u16,
    big_endian: bool,
    elf_type: ElfType,
) -> Option<ElfInfo> {
    let header = Elf::parse(data).ok()?;
    let headers = header.program_headers(endian, data).ok()?;
    let mut interpreter = None;
    for ph in headers {
        if let Some(path) = ph.interpreter(endian, data).ok()? {
            interpreter = Some(text(path)?);
        }
    }
    let mut info = ElfInfo {
        class,
        big_endian,
        machine,
        elf_type,
        interpreter,
        soname: None,
        needed: Vec::new(),
        rpath: None,
        runpath: None,
    };
    let Some(dynamic) = dynamic_entries::<Elf>(headers, endian, data)? else {
        return Some(info);
    };
    let Some((address, size)) = string_table_address::<Elf>(headers, endian, data)? else {
        return Some(info);
    };
    let start = file_offset::<Elf>(headers, endian, address)?;
    let strings = StringTable::new(data, start, start.checked_add(size)?);
    for entry in dynamic {
        let tag = entry.tag(endian);
        if tag == elf::DT_NULL {
            break;
        }
        let field = match tag {
            elf::DT_NEEDED => {
                info.needed.push(text(entry.string(endian, strings).ok()?)?);
                continue;
            }
            elf::DT_SONAME => &mut info.soname,
            elf::DT_RPATH => &mut info.rpath,
            elf::DT_RUNPATH => &mut info.runpath,
            _ => continue,
        };
        // The loader reads the first of each; a second one is a linker oddity.
        if field.is_none() {
            *field = Some(text(entry.string(endian, strings).ok()?)?);
        }
    }
    Some(info)
}

/// Library names and paths are ASCII in practice; one that is not valid UTF-8 makes the file
/// unreadable for us (treated like a damaged file) rather than silently mangled.
fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}
