"""binpkg-index.py CACHE PKGDIR [ATOM...]: the Packages index of gbb's binary package cache.

gbb mounts the binary package cache of a builder chain read-only at CACHE and gives every
build a fresh, empty PKGDIR of its own, which gbb-build fills with symlinks to the cached
files. Portage's own scan of PKGDIR takes only regular files (it lstat()s them) and so would
see none of the links; with FEATURES=pkgdir-index-trusted it reads the `Packages` index
instead and opens the files through the links. This writes that index: Portage's own scan
of CACHE (the cache holds only package files, which gbb moved in after checking their
names), with the instances of ATOM... left out (kubler's `_no_cache`: these are built again
instead of taken from the cache), written to PKGDIR/Packages under a temporary name first.

It uses Portage's binarytree scanner (`_populate_local`, a private method, unchanged since
Portage 2.3): the index must say exactly what Portage would say about the same files.
"""

import os
import sys

import portage
from portage.dbapi.bintree import binarytree
from portage.dep import Atom, match_from_list


def main(cache, pkgdir, excluded):
    tree = binarytree(pkgdir=cache, settings=portage.settings)
    index = tree._populate_local(reindex=True)
    if index is None:
        # Nothing in the cache: Portage starts an empty index itself.
        return
    atoms = [Atom(atom) for atom in excluded]
    index.packages[:] = [
        entry
        for entry in index.packages
        if not any(match_from_list(atom, [entry["CPV"]]) for atom in atoms)
    ]
    index.header["PACKAGES"] = str(len(index.packages))
    target = os.path.join(pkgdir, "Packages")
    with open(target + ".gbb-tmp", "w", encoding="utf-8") as out:
        index.write(out)
    os.rename(target + ".gbb-tmp", target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
