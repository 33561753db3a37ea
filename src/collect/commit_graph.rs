//! A reader of git's commit-graph files, so the history walk can take a commit's tree, parents
//! and time from the graph instead of inflating the commit, and skip commits whose changed-path
//! Bloom filter says a path did not change — as `git log -- PATH` does. git2 exposes neither.
//!
//! The format is git's `gitformat-commit-graph(5)`: a single `objects/info/commit-graph`, else
//! the chain in `objects/info/commit-graphs/`. Only what the walk needs is read (OIDF, OIDL,
//! CDAT, EDGE, BIDX, BDAT); generation numbers are not used, because the walk visits commits by
//! committer date, git's default order. Every offset is bounds-checked: a file that does not
//! parse is not used at all, and a lookup that falls outside it answers "not in the graph", so the
//! walk reads that commit from the object database instead. A Bloom filter is only ever used to
//! say "this path did not change from the first parent", never to say it did.

use std::path::Path;

/// One graph file of the chain (or the only one).
struct Layer {
    data: Vec<u8>,
    /// The global position of this layer's first commit (the commits of its bases come first).
    first: u32,
    count: u32,
    fanout: usize,
    oids: usize,
    cdat: usize,
    edges: Option<(usize, usize)>,
    bloom: Option<Bloom>,
}

struct Bloom {
    index: usize,
    data: usize,
    data_len: usize,
    hashes: u32,
    /// Murmur3 over bytes read as signed `char` (git's version 1 filters) or unsigned (2).
    signed_bytes: bool,
}

/// A commit as the graph records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCommit {
    pub tree: git2::Oid,
    pub parents: Vec<u32>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
}

/// The Bloom-filter hashes of one path (and of each folder above it, which git also adds), for
/// the hash version and count of the layer asking.
pub struct PathKeys {
    /// One entry per key: `hashes` values.
    keys: Vec<Vec<u32>>,
}

pub struct CommitGraph {
    layers: Vec<Layer>,
}

const OID: usize = 20;
const NO_PARENT: u32 = 0x7000_0000;
const EXTRA_EDGES: u32 = 0x8000_0000;
const LAST_EDGE: u32 = 0x8000_0000;

fn be32(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(d: &[u8], at: usize) -> Option<u64> {
    let hi = be32(d, at)? as u64;
    let lo = be32(d, at + 4)? as u64;
    Some(hi << 32 | lo)
}

impl Layer {
    /// Parse one graph file; `None` when it is not a SHA-1 commit-graph this reader understands
    /// or any chunk lies outside the file.
    fn parse(data: Vec<u8>, first: u32) -> Option<Layer> {
        if data.get(0..4)? != b"CGPH" || *data.get(4)? != 1 || *data.get(5)? != 1 {
            return None;
        }
        let chunks = *data.get(6)? as usize;
        let mut table = Vec::with_capacity(chunks + 1);
        for i in 0..=chunks {
            let at = 8 + i * 12;
            let id: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            let offset = usize::try_from(be64(&data, at + 4)?).ok()?;
            table.push((id, offset));
        }
        let chunk = |name: &[u8; 4]| -> Option<(usize, usize)> {
            let i = table.iter().position(|(id, _)| id == name)?;
            let (start, end) = (table[i].1, table.get(i + 1)?.1);
            (start <= end && end <= data.len()).then_some((start, end - start))
        };
        let (fanout, fanout_len) = chunk(b"OIDF")?;
        let count = be32(&data, fanout + 255 * 4)?;
        let n = count as usize;
        let (oids, oids_len) = chunk(b"OIDL")?;
        let (cdat, cdat_len) = chunk(b"CDAT")?;
        if fanout_len != 1024 || oids_len != n * OID || cdat_len != n * (OID + 16) {
            return None;
        }
        let bloom = match (chunk(b"BIDX"), chunk(b"BDAT")) {
            (Some((index, index_len)), Some((bdat, bdat_len))) if index_len == n * 4 => {
                let version = be32(&data, bdat)?;
                let hashes = be32(&data, bdat + 4)?;
                (bdat_len >= 12 && (version == 1 || version == 2) && (1..=32).contains(&hashes))
                    .then_some(Bloom {
                        index,
                        data: bdat + 12,
                        data_len: bdat_len - 12,
                        hashes,
                        signed_bytes: version == 1,
                    })
            }
            _ => None,
        };
        Some(Layer {
            edges: chunk(b"EDGE"),
            data,
            first,
            count,
            fanout,
            oids,
            cdat,
            bloom,
        })
    }

    fn oid(&self, local: usize) -> Option<git2::Oid> {
        let at = self.oids + local * OID;
        git2::Oid::from_bytes(self.data.get(at..at + OID)?).ok()
    }

    /// This layer's index of `oid`: the fan-out narrows the range, a binary search finds it.
    fn find(&self, oid: &git2::Oid) -> Option<usize> {
        let bytes = oid.as_bytes();
        let b = bytes[0] as usize;
        let lo = if b == 0 {
            0
        } else {
            be32(&self.data, self.fanout + (b - 1) * 4)? as usize
        };
        let hi = (be32(&self.data, self.fanout + b * 4)? as usize).min(self.count as usize);
        let (mut lo, mut hi) = (lo.min(hi), hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = self.oids + mid * OID;
            match self.data.get(at..at + OID)?.cmp(bytes) {
                std::cmp::Ordering::Equal => return Some(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    fn commit(&self, local: usize) -> Option<GraphCommit> {
        let at = self.cdat + local * (OID + 16);
        let tree = git2::Oid::from_bytes(self.data.get(at..at + OID)?).ok()?;
        let p1 = be32(&self.data, at + OID)?;
        let p2 = be32(&self.data, at + OID + 4)?;
        let hi = be32(&self.data, at + OID + 8)?;
        let lo = be32(&self.data, at + OID + 12)?;
        let time = (((hi & 0b11) as i64) << 32) | lo as i64;
        let mut parents = Vec::with_capacity(2);
        if p1 != NO_PARENT {
            parents.push(p1);
        }
        if p2 == NO_PARENT {
        } else if p2 & EXTRA_EDGES == 0 {
            parents.push(p2);
        } else {
            let (edges, len) = self.edges?;
            let mut i = (p2 & !EXTRA_EDGES) as usize;
            loop {
                if (i + 1) * 4 > len {
                    return None;
                }
                let e = be32(&self.data, edges + i * 4)?;
                parents.push(e & !LAST_EDGE);
                if e & LAST_EDGE != 0 {
                    break;
                }
                i += 1;
            }
        }
        Some(GraphCommit {
            tree,
            parents,
            time,
        })
    }

    /// The Bloom filter bytes of a commit: `None` when the layer has none, empty when the
    /// commit's filter was not computed.
    fn filter(&self, local: usize) -> Option<&[u8]> {
        let bloom = self.bloom.as_ref()?;
        let end = be32(&self.data, bloom.index + local * 4)? as usize;
        let start = match local {
            0 => 0,
            _ => be32(&self.data, bloom.index + (local - 1) * 4)? as usize,
        };
        if start > end || end > bloom.data_len {
            return None;
        }
        self.data.get(bloom.data + start..bloom.data + end)
    }
}

impl CommitGraph {
    /// The commit-graph of the repository, when it has one this reader can use. git does not
    /// use the graph of a shallow repository, one with replace refs or grafts, or when
    /// `core.commitGraph` is false; neither does this.
    pub fn open(repo: &git2::Repository) -> Option<CommitGraph> {
        let common = repo.commondir();
        if common.join("shallow").exists() || common.join("info/grafts").exists() {
            return None;
        }
        if repo
            .config()
            .ok()
            .and_then(|c| c.get_bool("core.commitGraph").ok())
            == Some(false)
        {
            return None;
        }
        if repo
            .references_glob("refs/replace/*")
            .ok()
            .is_some_and(|mut r| r.next().is_some())
        {
            return None;
        }
        Self::open_dir(&common.join("objects/info"))
    }

    /// The graph in an `objects/info` folder: the single file first, else the chain (as git).
    pub fn open_dir(info: &Path) -> Option<CommitGraph> {
        if let Ok(data) = std::fs::read(info.join("commit-graph")) {
            return Some(CommitGraph {
                layers: vec![Layer::parse(data, 0)?],
            });
        }
        let chain = std::fs::read_to_string(info.join("commit-graphs/commit-graph-chain")).ok()?;
        let mut layers: Vec<Layer> = Vec::new();
        let mut first = 0u32;
        for hash in chain.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if hash.len() != 2 * OID || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let data =
                std::fs::read(info.join(format!("commit-graphs/graph-{hash}.graph"))).ok()?;
            let layer = Layer::parse(data, first)?;
            first = first.checked_add(layer.count)?;
            layers.push(layer);
        }
        (!layers.is_empty()).then_some(CommitGraph { layers })
    }

    fn layer_of(&self, pos: u32) -> Option<(&Layer, usize)> {
        self.layers
            .iter()
            .find(|l| pos >= l.first && pos - l.first < l.count)
            .map(|l| (l, (pos - l.first) as usize))
    }

    /// The global position of a commit, when the graph holds it.
    pub fn position(&self, oid: &git2::Oid) -> Option<u32> {
        self.layers
            .iter()
            .find_map(|l| l.find(oid).map(|i| l.first + i as u32))
    }

    pub fn oid(&self, pos: u32) -> Option<git2::Oid> {
        let (layer, local) = self.layer_of(pos)?;
        layer.oid(local)
    }

    /// The commit at `pos`; `None` when the record does not parse (read the object instead).
    pub fn commit(&self, pos: u32) -> Option<GraphCommit> {
        let (layer, local) = self.layer_of(pos)?;
        let c = layer.commit(local)?;
        let total = self.layers.last().map_or(0, |l| l.first + l.count);
        c.parents.iter().all(|&p| p < total).then_some(c)
    }

    /// Whether the graph has Bloom filters at all (else keys are not worth computing).
    pub fn has_filters(&self) -> bool {
        self.layers.iter().any(|l| l.bloom.is_some())
    }

    /// The Bloom keys of a repository path (for both hash versions a layer may use); `None` for
    /// the root, which a tree id comparison answers.
    pub fn keys(&self, path: &str) -> Option<[PathKeys; 2]> {
        // The path as git writes it in a filter: segments joined by one `/`. A `..` is never a
        // tree entry, so such a path gets no keys (and is compared by trees, as before).
        let segments: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if segments.is_empty() || segments.contains(&"..") {
            return None;
        }
        let prefixes: Vec<String> = (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("/"))
            .collect();
        let hashes = self
            .layers
            .iter()
            .filter_map(|l| l.bloom.as_ref().map(|b| b.hashes))
            .max()?;
        let make = |signed| PathKeys {
            keys: prefixes
                .iter()
                .map(|p| key_hashes(p.as_bytes(), hashes, signed))
                .collect(),
        };
        Some([make(true), make(false)])
    }

    /// `Some(false)` when the commit's filter says the path (keys from [`Self::keys`]) did not
    /// change against its first parent; `Some(true)` when it may have; `None` without a filter.
    pub fn maybe_changed(&self, pos: u32, keys: &[PathKeys; 2]) -> Option<bool> {
        let (layer, local) = self.layer_of(pos)?;
        let bloom = layer.bloom.as_ref()?;
        let filter = layer.filter(local)?;
        if filter.is_empty() {
            return None;
        }
        let keys = &keys[usize::from(!bloom.signed_bytes)];
        let bits = filter.len() as u64 * 8;
        let hashes = bloom.hashes as usize;
        Some(keys.keys.iter().all(|key| {
            key.iter().take(hashes).all(|&h| {
                let bit = h as u64 % bits;
                filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0
            })
        }))
    }
}

/// git's key of one path: `hashes` values `h0 + i·h1` from two seeded murmur3 hashes.
fn key_hashes(data: &[u8], hashes: u32, signed: bool) -> Vec<u32> {
    let h0 = murmur3(0x293a_e76f, data, signed);
    let h1 = murmur3(0x7e64_6e2c, data, signed);
    (0..hashes)
        .map(|i| h0.wrapping_add(i.wrapping_mul(h1)))
        .collect()
}

/// MurmurHash3 (x86, 32-bit). git's version 1 filters read the bytes as C `char`, signed on the
/// platforms that wrote them, so a byte ≥ 0x80 is sign-extended; version 2 fixed that.
pub fn murmur3(seed: u32, data: &[u8], signed: bool) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let byte = |b: u8| {
        if signed {
            b as i8 as i32 as u32
        } else {
            b as u32
        }
    };
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = byte(c[0]) | byte(c[1]) << 8 | byte(c[2]) << 16 | byte(c[3]) << 24;
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    let mut k: u32 = 0;
    for (i, &b) in tail.iter().enumerate().rev() {
        k ^= byte(b) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_the_reference_vectors() {
        // The vectors git's own tests (t0095-bloom) and the reference implementation use.
        assert_eq!(murmur3(0, b"", false), 0);
        assert_eq!(murmur3(1, b"", false), 0x514e_28b7);
        assert_eq!(murmur3(0, b"Hello world!", false), 0x627b_0c2c);
        assert_eq!(
            murmur3(0, b"The quick brown fox jumps over the lazy dog", false),
            0x2e4f_f723
        );
        // git's version 1 differs only for bytes >= 0x80 (t0095: "\x99\xaa\xbb\xcc\xdd\xee\xff").
        assert_eq!(
            murmur3(0, b"\x99\xaa\xbb\xcc\xdd\xee\xff", false),
            0xa183_ccfd
        );
        // Read as signed bytes (version 1) the same input hashes differently; ASCII does not.
        assert_ne!(
            murmur3(0, b"\x99\xaa\xbb\xcc\xdd\xee\xff", true),
            0xa183_ccfd
        );
        assert_eq!(
            murmur3(7, b"docs/a.md", true),
            murmur3(7, b"docs/a.md", false)
        );
    }

    #[test]
    fn keys_are_those_of_the_path_as_git_writes_it() {
        let graph = CommitGraph {
            layers: vec![Layer {
                data: Vec::new(),
                first: 0,
                count: 0,
                fanout: 0,
                oids: 0,
                cdat: 0,
                edges: None,
                bloom: Some(Bloom {
                    index: 0,
                    data: 0,
                    data_len: 0,
                    hashes: 7,
                    signed_bytes: false,
                }),
            }],
        };
        let keys = |p: &str| graph.keys(p).map(|[_, k]| k.keys);
        let want = keys("docs/ops/a.md").unwrap();
        assert_eq!(want.len(), 3, "the path and the two folders above it");
        assert_eq!(want[0], key_hashes(b"docs/ops/a.md", 7, false));
        assert_eq!(want[2], key_hashes(b"docs", 7, false));
        assert_eq!(keys("docs//ops/./a.md/"), Some(want));
        assert_eq!(keys("."), None);
        assert_eq!(keys("docs/../a.md"), None);
    }

    #[test]
    fn a_file_that_is_not_a_graph_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("commit-graph"),
            b"CGPH\x01\x01\x03\x00short",
        )
        .unwrap();
        assert!(CommitGraph::open_dir(dir.path()).is_none());
        std::fs::write(dir.path().join("commit-graph"), b"").unwrap();
        assert!(CommitGraph::open_dir(dir.path()).is_none());
    }
}
