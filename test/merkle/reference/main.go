// Command reference prints roots and RFC 9162 proofs of a tree of -leaves leaves computed by
// github.com/transparency-dev/merkle (an implementation gavel did not write), for
// test/merkle/reference.test.ts to compare with gavel's own, line by line. Leaf i holds the
// bytes "leaf-<i>". Lines:
//
//	root <size> <hex>
//	incl <index> <size> <hex>,<hex>,...
//	cons <from> <to> <hex>,<hex>,...
//
// Every size 1..-sizes gets its root, and inclusion and consistency proofs at a few places
// (every place up to -all); then -pairs random pairs up to -leaves. Each proof is verified
// here with proof.VerifyInclusion / proof.VerifyConsistency before it is printed.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

func main() {
	leaves := flag.Uint64("leaves", 100000, "leaves in the tree")
	sizes := flag.Uint64("sizes", 1000, "every size from 1 to this gets its root and proofs")
	all := flag.Uint64("all", 64, "sizes up to this get every inclusion and consistency proof")
	pairs := flag.Int("pairs", 2000, "random (index, size) and (from, to) pairs up to -leaves")
	seed := flag.Int64("seed", 1, "seed of the random pairs")
	flag.Parse()

	h := rfc6962.DefaultHasher
	tree := testonly.New(h)
	for i := uint64(0); i < *leaves; i++ {
		tree.AppendData([]byte(fmt.Sprintf("leaf-%d", i)))
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	fail := func(format string, args ...any) {
		out.Flush()
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(1)
	}
	join := func(p [][]byte) string {
		s := make([]string, len(p))
		for i, x := range p {
			s[i] = hex.EncodeToString(x)
		}
		return strings.Join(s, ",")
	}
	root := func(size uint64) {
		fmt.Fprintf(out, "root %d %s\n", size, hex.EncodeToString(tree.HashAt(size)))
	}
	incl := func(index, size uint64) {
		p, err := tree.InclusionProof(index, size)
		if err != nil {
			fail("inclusion %d %d: %v", index, size, err)
		}
		if err := proof.VerifyInclusion(h, index, size, tree.LeafHash(index), p, tree.HashAt(size)); err != nil {
			fail("inclusion %d %d does not verify: %v", index, size, err)
		}
		fmt.Fprintf(out, "incl %d %d %s\n", index, size, join(p))
	}
	cons := func(from, to uint64) {
		p, err := tree.ConsistencyProof(from, to)
		if err != nil {
			fail("consistency %d %d: %v", from, to, err)
		}
		if err := proof.VerifyConsistency(h, from, to, p, tree.HashAt(from), tree.HashAt(to)); err != nil {
			fail("consistency %d %d does not verify: %v", from, to, err)
		}
		fmt.Fprintf(out, "cons %d %d %s\n", from, to, join(p))
	}

	rng := rand.New(rand.NewSource(*seed))
	root(0)
	for n := uint64(1); n <= *sizes && n <= *leaves; n++ {
		root(n)
		if n <= *all {
			for i := uint64(0); i < n; i++ {
				incl(i, n)
			}
			for m := uint64(0); m <= n; m++ {
				cons(m, n)
			}
			continue
		}
		for _, i := range []uint64{0, n / 2, n - 1, uint64(rng.Int63n(int64(n)))} {
			incl(i, n)
		}
		for _, m := range []uint64{1, n / 2, n - 1, uint64(rng.Int63n(int64(n)))} {
			cons(m, n)
		}
	}
	for k := 0; k < *pairs; k++ {
		n := 1 + uint64(rng.Int63n(int64(*leaves)))
		root(n)
		incl(uint64(rng.Int63n(int64(n))), n)
		cons(1+uint64(rng.Int63n(int64(n))), n)
	}
}
