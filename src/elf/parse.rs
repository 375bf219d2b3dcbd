//! The parser proper: object's zero-copy ELF structures for the file header,
//! program headers, dynamic entries and notes; the version tables are walked
//! here, from the addresses in the dynamic section, with explicit caps.

use std::cell::Cell;

use object::Endianness;
use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader as _, SectionHeader as _};

use super::{
    Class, ElfError, ElfFacts, Endian, FileType, GnuProperties, Linkage, LoadSegment, Toolchain,
    VersionNeed,
};

/// At most this many program headers (the most `e_phnum` can say without the
/// PN_XNUM extension).
const MAX_PHDRS: u32 = 65_535;
/// At most this many version needs (files and their entries together), and as
/// many version definitions.
const MAX_VERSION_ENTRIES: usize = 100_000;
/// At most this many DT_NEEDED entries.
const MAX_NEEDED: usize = 100_000;
/// At most this many bytes of dynamic strings copied out in all, so that many
/// entries naming one long string cannot multiply it.
const MAX_STRING_BYTES: usize = 16 << 20;

/// GNU_PROPERTY_X86_ISA_1_NEEDED, whose bits are the x86-64 levels
/// (baseline, v2, v3, v4). Older binutils wrote the "compat" ISA properties
/// instead (0xc000_0001, and 0xc000_8000 for the second form); their bits name
/// single extensions (i486, SSE, AVX, ...), not levels, so they are not read
/// as this field. 0xc000_0002 is GNU_PROPERTY_X86_FEATURE_1_AND (IBT,
/// SHSTK), never an ISA value.
const GNU_PROPERTY_X86_ISA_1_NEEDED: u32 = 0xc000_8002;
/// GNU_PROPERTY_AARCH64_FEATURE_1_AND.
const GNU_PROPERTY_AARCH64_FEATURE_1_AND: u32 = 0xc000_0000;

/// Parses one ELF file's bytes into facts.
///
/// What is read, and from where:
/// - the file header: class, data encoding, `e_type`, `e_machine`, `e_flags`,
///   `e_entry`;
/// - the program headers: PT_LOAD (kept as [`LoadSegment`]s), PT_INTERP (up
///   to its first NUL), PT_DYNAMIC, PT_GNU_PROPERTY and PT_NOTE;
/// - the dynamic section: DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH (split at
///   `:`), DT_FLAGS_1 (DF_1_NODEFLIB), and DT_VERNEED / DT_VERDEF with their
///   counts. Strings come from DT_STRTAB / DT_STRSZ and the version tables
///   from their addresses, each mapped to file offsets through the PT_LOAD
///   segments, as the dynamic loader finds them; section headers are not
///   needed, so binaries without them are read in full;
/// - GNU property notes (NT_GNU_PROPERTY_TYPE_0): x86 ISA level needed and
///   AArch64 feature bits, from PT_GNU_PROPERTY, else the PT_NOTE segments,
///   and only for a file without program headers (a relocatable object) from
///   its SHT_NOTE sections. A broken section header table is ignored.
///
/// Fails with [`ElfError::Truncated`] when a table or string lies past the
/// end of the bytes, [`ElfError::Malformed`] when values contradict each
/// other, and [`ElfError::Limit`] when a count exceeds elfgate's caps (65535
/// program headers, 100000 version entries). Never panics.
pub fn parse(bytes: &[u8]) -> Result<ElfFacts, ElfError> {
    if !super::is_elf(bytes) {
        return Err(if bytes.len() < 4 && super::MAGIC.starts_with(bytes) {
            ElfError::Truncated("shorter than the ELF magic".into())
        } else {
            ElfError::Malformed("no ELF magic".into())
        });
    }
    if bytes.len() < 16 {
        return Err(ElfError::Truncated("shorter than e_ident".into()));
    }
    match bytes[4] {
        c if c == elf::ELFCLASS32.0 => {
            parse_class::<elf::FileHeader32<Endianness>>(bytes, Class::Elf32)
        }
        c if c == elf::ELFCLASS64.0 => {
            parse_class::<elf::FileHeader64<Endianness>>(bytes, Class::Elf64)
        }
        other => Err(ElfError::Malformed(format!("unknown ELF class {other}"))),
    }
}

fn parse_class<H>(bytes: &[u8], class: Class) -> Result<ElfFacts, ElfError>
where
    H: FileHeader<Endian = Endianness>,
{
    let endian = match bytes[5] {
        d if d == elf::ELFDATA2LSB.0 => Endianness::Little,
        d if d == elf::ELFDATA2MSB.0 => Endianness::Big,
        other => {
            return Err(ElfError::Malformed(format!(
                "unknown ELF data encoding {other}"
            )));
        }
    };
    if bytes.len() < std::mem::size_of::<H>() {
        return Err(ElfError::Truncated("shorter than the ELF header".into()));
    }
    let header = H::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
    let phdrs = program_headers(header, endian, bytes)?;

    let file_type = match header.e_type(endian) {
        elf::ET_REL => FileType::Relocatable,
        elf::ET_EXEC => FileType::Executable,
        elf::ET_DYN => FileType::SharedObject,
        elf::ET_CORE => FileType::Core,
        other => FileType::Other(other.0),
    };

    let mut loads = Vec::new();
    let mut interpreter = None;
    let mut dynamic_phdr = None;
    for ph in phdrs {
        let p_type = ph.p_type(endian);
        if p_type == elf::PT_LOAD {
            loads.push(LoadSegment {
                offset: ph.p_offset(endian).into(),
                vaddr: ph.p_vaddr(endian).into(),
                filesz: ph.p_filesz(endian).into(),
                memsz: ph.p_memsz(endian).into(),
                align: ph.p_align(endian).into(),
                flags: ph.p_flags(endian).0,
            });
        } else if p_type == elf::PT_INTERP && interpreter.is_none() {
            let data = file_range(
                bytes,
                ph.p_offset(endian).into(),
                ph.p_filesz(endian).into(),
            )
            .ok_or_else(|| ElfError::Truncated("PT_INTERP lies past the end".into()))?;
            let path = data.split(|&b| b == 0).next().unwrap_or_default();
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        } else if p_type == elf::PT_DYNAMIC && dynamic_phdr.is_none() {
            dynamic_phdr = Some(ph);
        }
    }

    let mut dynamic = DynamicFacts::default();
    if let Some(ph) = dynamic_phdr {
        let data = file_range(
            bytes,
            ph.p_offset(endian).into(),
            ph.p_filesz(endian).into(),
        )
        .ok_or_else(|| ElfError::Truncated("PT_DYNAMIC lies past the end".into()))?;
        let entry_size = std::mem::size_of::<H::Dyn>();
        let whole = data.len() / entry_size * entry_size;
        let entries: &[H::Dyn] = object::pod::slice_from_all_bytes(&data[..whole])
            .map_err(|()| ElfError::Malformed("PT_DYNAMIC is not a table".into()))?;
        let mapper = AddressMap {
            bytes,
            loads: &loads,
        };
        dynamic = read_dynamic(entries, endian, &mapper)?;
    }

    let machine = header.e_machine(endian).0;
    let gnu_properties = gnu_properties(header, phdrs, endian, bytes, machine);

    let toolchain = toolchain(header, endian, bytes, &loads, machine, &dynamic);

    let has_dynamic = dynamic_phdr.is_some();
    let linkage = if interpreter.is_some() || !dynamic.needed.is_empty() {
        Linkage::Dynamic
    } else if header.e_type(endian) == elf::ET_DYN && has_dynamic {
        Linkage::StaticPie
    } else {
        Linkage::Static
    };

    Ok(ElfFacts {
        class,
        endian: match endian {
            Endianness::Little => Endian::Little,
            Endianness::Big => Endian::Big,
        },
        machine,
        file_type,
        flags: header.e_flags(endian).0,
        entry: header.e_entry(endian).into(),
        interpreter,
        needed: dynamic.needed,
        soname: dynamic.soname,
        rpath: dynamic.rpath,
        runpath: dynamic.runpath,
        nodeflib: dynamic.nodeflib,
        has_dynamic,
        linkage,
        version_needs: dynamic.version_needs,
        version_defs: dynamic.version_defs,
        loads,
        gnu_properties,
        toolchain,
    })
}

/// The toolchain facts: from named sections where the section header table
/// can be read, else from the segments. Anything unreadable is left out.
fn toolchain<H>(
    header: &H,
    endian: Endianness,
    bytes: &[u8],
    loads: &[LoadSegment],
    machine: u16,
    dynamic: &DynamicFacts,
) -> Toolchain
where
    H: FileHeader<Endian = Endianness>,
{
    let sections = header.sections(endian, bytes).ok();
    let section = |name: &[u8]| -> Option<(&[u8], u64)> {
        let (_, sh) = sections.as_ref()?.section_by_name(endian, name)?;
        let data = sh.data(endian, bytes).ok()?;
        Some((data, sh.sh_addr(endian).into()))
    };
    let map = AddressMap { bytes, loads };
    let mut out = Toolchain::default();

    // Go: `.go.buildinfo`, else the first writable, non-executable PT_LOAD.
    let go_area = section(b".go.buildinfo").map(|(d, _)| d).or_else(|| {
        let seg = loads
            .iter()
            .find(|l| l.flags & elf::PF_W.0 != 0 && l.flags & elf::PF_X.0 == 0)?;
        file_range(bytes, seg.offset, seg.filesz)
    });
    if let Some(area) = go_area {
        out.go = super::goinfo::decode(area, |addr, len| {
            let rest = map.bytes_at(addr)?;
            rest.get(..usize::try_from(len).ok()?)
        });
    }

    if let Some((data, _)) = section(b".comment") {
        let comment = super::comment::read(data);
        out.rustc_version = comment.rustc_version;
        out.compilers = comment.others;
    }
    let rodata = section(b".rodata").map_or(bytes, |(d, _)| d);
    if out.go.is_none() {
        out.rustc_commit = super::rustinfo::rustc_commit(rodata);
    }
    if let Some((data, _)) = section(b".dep-v0") {
        out.auditable = super::auditable::decode(data);
    }
    if machine == super::machine::EM_ARM
        && let Some((data, _)) = section(b".ARM.attributes")
    {
        out.arm = super::armattr::decode(data);
    }
    // musl's libc.so is its loader too, and needs nothing.
    if dynamic.needed.is_empty() && header.e_type(endian) == elf::ET_DYN {
        out.musl_version = super::rustinfo::musl_version(rodata);
    }
    out
}

/// The program header table, checked against the byte length and the cap
/// before any entry is read.
fn program_headers<'a, H>(
    header: &H,
    endian: Endianness,
    bytes: &'a [u8],
) -> Result<&'a [H::ProgramHeader], ElfError>
where
    H: FileHeader<Endian = Endianness>,
{
    let phoff: u64 = header.e_phoff(endian).into();
    if phoff == 0 || header.e_phnum(endian) == 0 {
        return Ok(&[]);
    }
    // PN_XNUM moves the count into section 0; that path reads the section
    // header table, so a broken one is an error only here.
    let phnum = header
        .phnum(endian, bytes)
        .map_err(|e| ElfError::Malformed(e.to_string()))?;
    if phnum > MAX_PHDRS {
        return Err(ElfError::Limit(format!(
            "{phnum} program headers, over the program header limit ({MAX_PHDRS})"
        )));
    }
    let entsize = usize::from(header.e_phentsize(endian));
    if entsize != std::mem::size_of::<H::ProgramHeader>() {
        return Err(ElfError::Malformed(format!(
            "program header entry size {entsize}"
        )));
    }
    let table_len = u64::from(phnum) * entsize as u64;
    if file_range(bytes, phoff, table_len).is_none() {
        return Err(ElfError::Truncated(
            "program header table lies past the end".into(),
        ));
    }
    header
        .program_headers(endian, bytes)
        .map_err(|e| ElfError::Malformed(e.to_string()))
}

/// `bytes[offset..offset + size]`, if all of it is there.
fn file_range(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// Maps virtual addresses to file bytes through the PT_LOAD segments.
struct AddressMap<'a> {
    bytes: &'a [u8],
    loads: &'a [LoadSegment],
}

impl<'a> AddressMap<'a> {
    /// The file bytes from `addr` to the end of the file image of the PT_LOAD
    /// segment that holds it.
    fn bytes_at(&self, addr: u64) -> Option<&'a [u8]> {
        self.loads.iter().find_map(|load| {
            let rel = addr.checked_sub(load.vaddr)?;
            if rel >= load.filesz {
                return None;
            }
            let seg = file_range(self.bytes, load.offset, load.filesz)?;
            seg.get(usize::try_from(rel).ok()?..)
        })
    }
}

/// The dynamic string table: DT_STRTAB's bytes, at most DT_STRSZ of them,
/// and what is left of the byte budget for copies.
struct Strings<'a> {
    table: &'a [u8],
    budget: Cell<usize>,
}

impl Strings<'_> {
    fn get(&self, offset: u64, what: &str) -> Result<String, ElfError> {
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| self.table.get(o..))
            .ok_or_else(|| ElfError::Malformed(format!("{what}: string offset {offset}")))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| ElfError::Truncated(format!("{what}: unterminated string")))?;
        let left = self.budget.get().checked_sub(len).ok_or_else(|| {
            ElfError::Limit(format!(
                "more than {MAX_STRING_BYTES} bytes of dynamic strings"
            ))
        })?;
        self.budget.set(left);
        Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
    }
}

#[derive(Default)]
struct DynamicFacts {
    needed: Vec<String>,
    soname: Option<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    nodeflib: bool,
    version_needs: Vec<VersionNeed>,
    version_defs: Vec<String>,
}

fn read_dynamic<D>(
    entries: &[D],
    endian: Endianness,
    map: &AddressMap<'_>,
) -> Result<DynamicFacts, ElfError>
where
    D: Dyn<Endian = Endianness>,
{
    // First pass: the addresses and sizes, up to DT_NULL.
    let mut strtab = None;
    let mut strsz = None;
    let mut verneed = None;
    let mut verneednum = None;
    let mut verdef = None;
    let mut verdefnum = None;
    let mut flags_1 = 0u64;
    let mut live = entries.len();
    for (i, d) in entries.iter().enumerate() {
        let tag = d.tag(endian);
        let val = d.val(endian);
        match tag {
            elf::DT_NULL => {
                live = i;
                break;
            }
            elf::DT_STRTAB => strtab = Some(val),
            elf::DT_STRSZ => strsz = Some(val),
            elf::DT_VERNEED => verneed = Some(val),
            elf::DT_VERNEEDNUM => verneednum = Some(val),
            elf::DT_VERDEF => verdef = Some(val),
            elf::DT_VERDEFNUM => verdefnum = Some(val),
            elf::DT_FLAGS_1 => flags_1 |= val,
            _ => {}
        }
    }
    let entries = &entries[..live];

    let mut facts = DynamicFacts {
        nodeflib: flags_1 & elf::DF_1_NODEFLIB.0 != 0,
        ..DynamicFacts::default()
    };
    let uses_strings = entries.iter().any(|d| {
        matches!(
            d.tag(endian),
            elf::DT_NEEDED | elf::DT_SONAME | elf::DT_RPATH | elf::DT_RUNPATH
        )
    }) || verneed.is_some()
        || verdef.is_some();
    if !uses_strings {
        return Ok(facts);
    }
    let strtab =
        strtab.ok_or_else(|| ElfError::Malformed("strings used without DT_STRTAB".into()))?;
    let mut table = map
        .bytes_at(strtab)
        .ok_or_else(|| ElfError::Malformed("DT_STRTAB is outside every PT_LOAD".into()))?;
    if let Some(size) = strsz.and_then(|s| usize::try_from(s).ok()) {
        table = &table[..size.min(table.len())];
    }
    let strings = Strings {
        table,
        budget: Cell::new(MAX_STRING_BYTES),
    };

    for d in entries {
        let tag = d.tag(endian);
        let val = d.val(endian);
        match tag {
            elf::DT_NEEDED => {
                if facts.needed.len() >= MAX_NEEDED {
                    return Err(ElfError::Limit(format!("more than {MAX_NEEDED} DT_NEEDED")));
                }
                facts.needed.push(strings.get(val, "DT_NEEDED")?);
            }
            elf::DT_SONAME if facts.soname.is_none() => {
                facts.soname = Some(strings.get(val, "DT_SONAME")?);
            }
            elf::DT_RPATH => facts
                .rpath
                .extend(split_path(&strings.get(val, "DT_RPATH")?)),
            elf::DT_RUNPATH => facts
                .runpath
                .extend(split_path(&strings.get(val, "DT_RUNPATH")?)),
            _ => {}
        }
    }

    if let Some(addr) = verneed {
        let data = map
            .bytes_at(addr)
            .ok_or_else(|| ElfError::Malformed("DT_VERNEED is outside every PT_LOAD".into()))?;
        facts.version_needs = version_needs(data, endian, verneednum, &strings)?;
    }
    if let Some(addr) = verdef {
        let data = map
            .bytes_at(addr)
            .ok_or_else(|| ElfError::Malformed("DT_VERDEF is outside every PT_LOAD".into()))?;
        facts.version_defs = version_defs(data, endian, verdefnum, &strings)?;
    }
    Ok(facts)
}

/// A search path split at `:`; an empty string stays one empty entry, as
/// the loaders treat it (the current directory).
fn split_path(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(':').map(str::to_owned)
}

/// The u16 at `base + field`, if it is inside `data`.
fn u16_at(data: &[u8], base: usize, field: usize, endian: Endianness) -> Option<u16> {
    use object::Endian as _;
    let offset = base.checked_add(field)?;
    let b = data.get(offset..offset.checked_add(2)?)?;
    Some(endian.read_u16([b[0], b[1]]))
}

/// The u32 at `base + field`, if it is inside `data`.
fn u32_at(data: &[u8], base: usize, field: usize, endian: Endianness) -> Option<u32> {
    use object::Endian as _;
    let offset = base.checked_add(field)?;
    let b = data.get(offset..offset.checked_add(4)?)?;
    Some(endian.read_u32([b[0], b[1], b[2], b[3]]))
}

/// Steps to the next record of a version table: `next` bytes on from `at`,
/// or the end when `next` is 0.
fn step(at: usize, next: u32) -> Option<usize> {
    if next == 0 {
        None
    } else {
        at.checked_add(next as usize)
    }
}

/// The count the dynamic section gives for a version table, capped.
fn version_count(count: Option<u64>, what: &str) -> Result<usize, ElfError> {
    match count {
        None => Ok(MAX_VERSION_ENTRIES),
        Some(n) if n > MAX_VERSION_ENTRIES as u64 => {
            Err(ElfError::Limit(format!("{what} claims {n} entries")))
        }
        Some(n) => Ok(n as usize),
    }
}

/// `.gnu.version_r`: Elfxx_Verneed records (vn_version u16, vn_cnt u16,
/// vn_file u32, vn_aux u32, vn_next u32), each followed through vn_aux by
/// vn_cnt Elfxx_Vernaux records (vna_hash u32, vna_flags u16, vna_other u16,
/// vna_name u32, vna_next u32). The layout is the same for both classes.
fn version_needs(
    data: &[u8],
    endian: Endianness,
    count: Option<u64>,
    strings: &Strings<'_>,
) -> Result<Vec<VersionNeed>, ElfError> {
    let truncated = || ElfError::Truncated("version needs lie past the end".into());
    let files = version_count(count, "DT_VERNEEDNUM")?;
    let mut out = Vec::new();
    let mut at = Some(0usize);
    for _ in 0..files {
        let Some(vn) = at else { break };
        let cnt = u16_at(data, vn, 2, endian).ok_or_else(truncated)?;
        let file = u32_at(data, vn, 4, endian).ok_or_else(truncated)?;
        let aux = u32_at(data, vn, 8, endian).ok_or_else(truncated)?;
        let next = u32_at(data, vn, 12, endian).ok_or_else(truncated)?;
        let mut a = vn.checked_add(aux as usize);
        for _ in 0..cnt {
            let Some(vna) = a else { break };
            if out.len() >= MAX_VERSION_ENTRIES {
                return Err(ElfError::Limit(format!(
                    "more than {MAX_VERSION_ENTRIES} version needs"
                )));
            }
            let flags = u16_at(data, vna, 4, endian).ok_or_else(truncated)?;
            let name = u32_at(data, vna, 8, endian).ok_or_else(truncated)?;
            let vna_next = u32_at(data, vna, 12, endian).ok_or_else(truncated)?;
            out.push(VersionNeed {
                file: strings.get(file.into(), "vn_file")?,
                name: strings.get(name.into(), "vna_name")?,
                weak: flags & elf::VER_FLG_WEAK.0 != 0,
            });
            a = step(vna, vna_next);
        }
        at = step(vn, next);
    }
    Ok(out)
}

/// `.gnu.version_d`: Elfxx_Verdef records (vd_version u16, vd_flags u16,
/// vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32); the name
/// is the first Elfxx_Verdaux (vda_name u32, vda_next u32). The VER_FLG_BASE
/// entry (the file's own name) is left out.
fn version_defs(
    data: &[u8],
    endian: Endianness,
    count: Option<u64>,
    strings: &Strings<'_>,
) -> Result<Vec<String>, ElfError> {
    let truncated = || ElfError::Truncated("version definitions lie past the end".into());
    let defs = version_count(count, "DT_VERDEFNUM")?;
    let mut out = Vec::new();
    let mut at = Some(0usize);
    for _ in 0..defs {
        let Some(vd) = at else { break };
        let flags = u16_at(data, vd, 2, endian).ok_or_else(truncated)?;
        let cnt = u16_at(data, vd, 6, endian).ok_or_else(truncated)?;
        let aux = u32_at(data, vd, 12, endian).ok_or_else(truncated)?;
        let next = u32_at(data, vd, 16, endian).ok_or_else(truncated)?;
        if flags & elf::VER_FLG_BASE.0 == 0 && cnt > 0 {
            let vda = vd
                .checked_add(aux as usize)
                .ok_or_else(|| ElfError::Malformed("vd_aux overflows".into()))?;
            let name = u32_at(data, vda, 0, endian).ok_or_else(truncated)?;
            out.push(strings.get(name.into(), "vda_name")?);
        }
        at = step(vd, next);
    }
    Ok(out)
}

/// GNU property notes. Broken notes are skipped: they are optional facts.
fn gnu_properties<H>(
    header: &H,
    phdrs: &[H::ProgramHeader],
    endian: Endianness,
    bytes: &[u8],
    machine: u16,
) -> GnuProperties
where
    H: FileHeader<Endian = Endianness>,
{
    let mut props = GnuProperties::default();
    let mut note_areas: Vec<(&[u8], H::Word)> = Vec::new();
    let from_segments = |wanted: elf::ProgramType| {
        phdrs
            .iter()
            .filter(move |ph| ph.p_type(endian) == wanted)
            .filter_map(move |ph| {
                let data = file_range(
                    bytes,
                    ph.p_offset(endian).into(),
                    ph.p_filesz(endian).into(),
                )?;
                Some((data, ph.p_align(endian)))
            })
    };
    note_areas.extend(from_segments(elf::PT_GNU_PROPERTY));
    if note_areas.is_empty() {
        note_areas.extend(from_segments(elf::PT_NOTE));
    }
    if phdrs.is_empty() {
        // A relocatable object: the section table is all there is. Any
        // failure to read it only means no properties.
        if let Ok(sections) = header.section_headers(endian, bytes) {
            for sh in sections {
                if sh.sh_type(endian) != elf::SHT_NOTE {
                    continue;
                }
                if let Ok(data) = sh.data(endian, bytes) {
                    note_areas.push((data, sh.sh_addralign(endian)));
                }
            }
        }
    }
    for (data, align) in note_areas {
        let Ok(notes) = object::read::elf::NoteIterator::<H>::new(endian, align, data) else {
            continue;
        };
        for note in notes {
            let Ok(note) = note else { break };
            let Some(properties) = note.gnu_properties(endian) else {
                continue;
            };
            for property in properties {
                let Ok(property) = property else { break };
                let Ok(value) = property.data_u32(endian) else {
                    continue;
                };
                let pr_type = property.pr_type().0;
                match machine {
                    super::machine::EM_X86_64 | super::machine::EM_386
                        if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED =>
                    {
                        props.x86_isa_needed.get_or_insert(value);
                    }
                    super::machine::EM_AARCH64 if pr_type == GNU_PROPERTY_AARCH64_FEATURE_1_AND => {
                        props.aarch64_features.get_or_insert(value);
                    }
                    _ => {}
                }
            }
        }
    }
    props
}
