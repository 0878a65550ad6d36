//! What the dynamic loader needs from one ELF file inside a tar.
//!
//! The `object` crate reads it, not goblin: object's low-level `read::elf` traits
//! (`FileHeader`, `ProgramHeader`, `Dyn`) parse only the parts asked for, through any
//! `ReadRef` (a byte slice, or its `ReadCache` that reads ranges on demand), so we read a file's
//! header, its program headers, its `PT_INTERP` and `PT_DYNAMIC` segments and the dynamic
//! string table and nothing else. goblin's `Elf::parse` also reads the section headers and
//! symbol tables, which sit at the end of the file, so it needs every byte of every library;
//! object is also the crate the Rust toolchain itself uses for ELF (gimli, backtraces) and was
//! already in our `Cargo.lock`.
//!
//! Two sources: a tar stream, which can only go forward ([`read_elf_stream`] keeps what it read
//! and reads on to the furthest byte asked for), and a tar file ([`read_elf_at`], positioned
//! reads of just the parts asked for). The dynamic section of a large library is near its end,
//! so the second reads a few kilobytes where the first reads the whole library.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use object::Endianness;
use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::read::{ReadCache, ReadCacheOps, ReadRef, StringTable};
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

/// Reads the ELF facts of a file of `len` bytes from `reader`, which can only go forward (a tar
/// entry in a stream): bytes are read as far as the furthest part parsed and no further.
/// `buffer` holds them and is reused between calls to spare allocations. See [`read_source`]
/// for what `None` means.
pub(crate) fn read_elf_stream(
    reader: &mut impl Read,
    len: u64,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<ElfInfo>> {
    buffer.clear();
    read_source(StreamSource {
        reader,
        prefix: buffer,
        len,
        pos: 0,
        error: None,
    })
}

/// Reads the ELF facts of a file stored at `start..start + len` in `file` (a tar entry in a tar
/// file): only the parts parsed are read, with positioned reads, so the tar reader skips the
/// rest without reading it (a 100 MB library's dynamic section sits at its end).
pub(crate) fn read_elf_at(file: &File, start: u64, len: u64) -> io::Result<Option<ElfInfo>> {
    read_source(FileSource {
        file,
        start,
        len,
        pos: 0,
        error: None,
    })
}

/// Where a file's bytes come from. object's `ReadCache` asks for ranges and keeps them; its
/// interface has no room for an I/O error, so a source keeps the first one for us to return.
trait Source: ReadCacheOps {
    fn take_error(&mut self) -> Option<io::Error>;
}

/// Parses the file `source` holds, or `None` when it is not an ELF file the loader deals with:
/// not ELF at all (a script, data), a relocatable object or core dump, or a file too damaged
/// to parse. Damaged files are not an error: packages ship ELF test fixtures and firmware, and
/// whether *they* load is not this check's question. Reading the file failing is one.
fn read_source(source: impl Source) -> io::Result<Option<ElfInfo>> {
    let cache = ReadCache::new(source);
    let info = match (&cache).read_bytes_at(0, size_of::<elf::Ident>() as u64) {
        // `e_ident[EI_CLASS]` is the byte after the magic.
        Ok(ident) if ident[..4] == elf::ELFMAG => match ident[4] {
            elf::ELFCLASS32 => facts::<FileHeader32<Endianness>, _>(&cache, ElfClass::Elf32),
            elf::ELFCLASS64 => facts::<FileHeader64<Endianness>, _>(&cache, ElfClass::Elf64),
            _ => None,
        },
        _ => None,
    };
    match cache.into_inner().take_error() {
        Some(error) => Err(error),
        None => Ok(info),
    }
}

/// A file read forward from a stream into `prefix`, as far as asked.
struct StreamSource<'r, R: Read> {
    reader: &'r mut R,
    prefix: &'r mut Vec<u8>,
    len: u64,
    pos: u64,
    error: Option<io::Error>,
}

impl<R: Read> ReadCacheOps for StreamSource<'_, R> {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let end = self.pos.saturating_add(buf.len() as u64).min(self.len);
        let have = self.prefix.len() as u64;
        if end > have {
            let result = (&mut *self.reader)
                .take(end - have)
                .read_to_end(self.prefix);
            if let Err(error) = result {
                self.error.get_or_insert(error);
                return Err(());
            }
        }
        let available = self.prefix.get(self.pos as usize..).unwrap_or_default();
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        if self.read(buf)? == buf.len() {
            Ok(())
        } else {
            Err(())
        }
    }
}

impl<R: Read> Source for StreamSource<'_, R> {
    fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

/// A file inside a larger file, read with positioned reads.
struct FileSource<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    pos: u64,
    error: Option<io::Error>,
}

impl ReadCacheOps for FileSource<'_> {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match self.file.read_at(&mut buf[..want], self.start + self.pos) {
            Ok(n) => {
                self.pos += n as u64;
                Ok(n)
            }
            Err(error) => {
                self.error.get_or_insert(error);
                Err(())
            }
        }
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<(), ()> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }
}

impl Source for FileSource<'_> {
    fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

/// What the loader needs from the ELF file in `data`, or `None` when it is not loadable (see
/// [`read_source`]).
fn facts<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(
    data: R,
    class: ElfClass,
) -> Option<ElfInfo> {
    let header = Elf::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let elf_type = match header.e_type(endian) {
        elf::ET_EXEC => ElfType::Exec,
        elf::ET_DYN => ElfType::Dyn,
        _ => return None,
    };
    let headers = header.program_headers(endian, data).ok()?;
    let mut info = ElfInfo {
        class,
        big_endian: header.is_big_endian(),
        machine: header.e_machine(endian),
        elf_type,
        interpreter: None,
        soname: None,
        needed: Vec::new(),
        rpath: None,
        runpath: None,
    };
    let mut dynamic = None;
    for ph in headers {
        if let Some(path) = ph.interpreter(endian, data).ok()? {
            info.interpreter = Some(text(path)?);
        }
        if let Some(entries) = ph.dynamic(endian, data).ok()? {
            dynamic.get_or_insert(entries);
        }
    }
    // No dynamic section: a static program, or a library that needs nothing.
    let Some(dynamic) = dynamic else {
        return Some(info);
    };
    let Some(strings) = string_table::<Elf, R>(headers, endian, dynamic, data)? else {
        return Some(info);
    };
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

/// The dynamic string table: `DT_STRTAB` is a virtual address, found in the file through the
/// `PT_LOAD` segment that maps it (as the loader maps the file). `Some(None)` when the dynamic
/// section names none, `None` when it points outside the file.
fn string_table<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(
    headers: &[Elf::ProgramHeader],
    endian: Endianness,
    dynamic: &[Elf::Dyn],
    data: R,
) -> Option<Option<StringTable<'data, R>>> {
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
    let (Some(address), Some(size)) = (address, size) else {
        return Some(None);
    };
    let start = headers
        .iter()
        .filter(|ph| ph.p_type(endian) == elf::PT_LOAD)
        .find_map(|ph| {
            let vaddr: u64 = ph.p_vaddr(endian).into();
            let filesz: u64 = ph.p_filesz(endian).into();
            let offset: u64 = ph.p_offset(endian).into();
            (address >= vaddr && address - vaddr < filesz).then(|| offset + (address - vaddr))
        })?;
    Some(Some(StringTable::new(
        data,
        start,
        start.checked_add(size)?,
    )))
}

/// Library names and paths are ASCII in practice; one that is not valid UTF-8 makes the file
/// unreadable for us (treated like a damaged file) rather than silently mangled.
fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}
