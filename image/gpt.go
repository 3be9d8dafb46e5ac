package image

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"unicode/utf16"
)

const (
	sector     = 512
	gptEntries = 128
	gptEntry   = 128
	// gptEntrySectors is the sectors of the partition entry array (128 × 128 bytes).
	gptEntrySectors = gptEntries * gptEntry / sector
	// espStart is where the EFI system partition starts: 1 MiB, the usual alignment.
	espStart = 2048
)

// espType is the EFI system partition's type GUID, C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as
// stored (the first three fields little-endian).
var espType = guidBytes([16]byte{0xc1, 0x2a, 0x73, 0x28, 0xf8, 0x1f, 0x11, 0xd2, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b})

// guidBytes converts a GUID written big-endian (as printed) to its on-disk form.
func guidBytes(g [16]byte) [16]byte {
	g[0], g[1], g[2], g[3] = g[3], g[2], g[1], g[0]
	g[4], g[5] = g[5], g[4]
	g[6], g[7] = g[7], g[6]
	return g
}

// stableGUID derives a version-4-shaped GUID from seed: the same image gets the same GUIDs,
// and different images different ones.
func stableGUID(seed []byte, label string) [16]byte {
	h := sha256.Sum256(append([]byte(label+"\x00"), seed...))
	var g [16]byte
	copy(g[:], h[:16])
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return guidBytes(g)
}

// WriteGPTDisk writes to out a disk image with a protective MBR, a GPT, and one partition,
// the EFI system partition, holding the FAT image esp (a whole number of sectors) from 1 MiB
// on. The GUIDs derive from seed (a hash of the contents), so the same inputs give the same
// bytes.
func WriteGPTDisk(out, esp string, seed []byte) error {
	in, err := os.Open(esp)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	espSectors := uint64(st.Size()+sector-1) / sector
	last := espStart + espSectors + 2048 - 1 // 1 MiB after the partition for the backup GPT
	total := last + 1
	firstUsable := uint64(2 + gptEntrySectors)
	lastUsable := last - 1 - gptEntrySectors

	entries := make([]byte, gptEntries*gptEntry)
	t := espType
	copy(entries[0:], t[:])
	u := stableGUID(seed, "esp")
	copy(entries[16:], u[:])
	binary.LittleEndian.PutUint64(entries[32:], espStart)
	binary.LittleEndian.PutUint64(entries[40:], espStart+espSectors-1)
	for i, c := range utf16.Encode([]rune("EFI system partition")) {
		binary.LittleEndian.PutUint16(entries[56+2*i:], c)
	}
	entriesCRC := crc32.ChecksumIEEE(entries)
	diskGUID := stableGUID(seed, "disk")

	header := func(my, alt, entryLBA uint64) []byte {
		h := make([]byte, sector)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], firstUsable)
		binary.LittleEndian.PutUint64(h[48:], lastUsable)
		copy(h[56:], diskGUID[:])
		binary.LittleEndian.PutUint64(h[72:], entryLBA)
		binary.LittleEndian.PutUint32(h[80:], gptEntries)
		binary.LittleEndian.PutUint32(h[84:], gptEntry)
		binary.LittleEndian.PutUint32(h[88:], entriesCRC)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}

	mbr := make([]byte, sector)
	p := mbr[446:]
	p[1], p[2], p[3] = 0x00, 0x02, 0x00 // CHS of LBA 1
	p[4] = 0xee                         // GPT protective
	p[5], p[6], p[7] = 0xff, 0xff, 0xff
	binary.LittleEndian.PutUint32(p[8:], 1)
	binary.LittleEndian.PutUint32(p[12:], uint32(min(total-1, 0xffffffff)))
	mbr[510], mbr[511] = 0x55, 0xaa

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(total * sector)); err != nil {
		return err
	}
	for _, w := range []struct {
		lba  uint64
		data []byte
	}{
		{0, mbr},
		{1, header(1, last, 2)},
		{2, entries},
		{last - gptEntrySectors, entries},
		{last, header(last, 1, last-gptEntrySectors)},
	} {
		if _, err := f.WriteAt(w.data, int64(w.lba*sector)); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.NewOffsetWriter(f, espStart*sector), in); err != nil {
		return err
	}
	return f.Close()
}
