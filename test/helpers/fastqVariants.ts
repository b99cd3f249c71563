/**
 * Hand-made FASTQ files covering the cases of the FASTQ paper's test corpus (Cock et al. 2010, NAR 38:1767;
 * Biopython's Tests/Quality): wrapped sequence and quality, quality lines starting with '@' and '+', long wrapped
 * reads, zero-length reads, Solexa+64 and Phred+64 (Illumina 1.3+/1.5+) scores, and one file per kind of error.
 * Written for metavec (none of the corpus files is copied); each error case names the record and line the
 * error must point at.
 */
import { rng, randomSeq } from './fixtures.js';

export interface Read {
  /** title line without '@' */
  title: string;
  seq: string;
  /** Phred+33 */
  qual: string;
}

/** Five reads; the qualities of read 3 put '@' and '+' at the starts of its 10-column quality lines. */
export const READS: Read[] = [
  { title: 'v1 lane=1', seq: 'ACGTTGCAAGGCTTAACGGA', qual: 'IIIIIHHHGGFFEEDDCCBA' },
  { title: 'v2 lane=1', seq: 'TTGACCAGTAGGCATCCGAT', qual: '#$%&\'()*+,-./0123456' },
  { title: 'v3 lane=2', seq: 'GGGCCCAAATTTGGGCCCAAATTT', qual: '@IIIIIIIII+IIIIIIIII@III' },
  { title: 'v4', seq: 'CAGT', qual: '5555' },
  { title: 'v5 lane=2 x', seq: 'ATGCATGCATGCATGCATGCATGCATGC', qual: '+@+@+@+@+@+@+@+@+@+@+@+@+@+@' },
];

/** Lines of one record; seq and qual wrapped at `wrap` columns (0: one line each); `plus`: repeat the title. */
export function record(r: Read, wrap = 0, plus = false): string {
  const w = (s: string): string => (wrap > 0 && s.length > 0 ? (s.match(new RegExp(`.{1,${wrap}}`, 'g')) ?? []).join('\n') : s);
  return `@${r.title}\n${w(r.seq)}\n+${plus ? r.title : ''}\n${w(r.qual)}\n`;
}

export function fastq(reads: Read[], wrap = 0, plus = false): string {
  return reads.map((r) => record(r, wrap, plus)).join('');
}

/** The read names (read_id: up to the first space) and sequences every valid variant must give back. */
export const NAMES = READS.map((r) => r.title.split(' ')[0]!);

/** A 600 bp read wrapped at 60 columns, with the 4-line version it must equal. */
export function longReads(): { wrapped: string; fourLine: string; reads: Read[] } {
  const r = rng(18);
  const reads: Read[] = [0, 1, 2].map((i) => {
    const seq = randomSeq(600 - i * 37, r);
    let qual = '';
    for (let j = 0; j < seq.length; j++) qual += String.fromCharCode(33 + Math.floor(r() * 60));
    return { title: `long${i} len=${seq.length}`, seq, qual };
  });
  return { wrapped: fastq(reads, 60), fourLine: fastq(reads), reads };
}

/** Every Solexa+64 character from -5 (';') up, and the Phred scores they mean (10 log10(10^(Q/10) + 1), rounded). */
export const SOLEXA = {
  text: '@sx1\nACGTACGTACGT\n+\n;<=>?@AJT^h~\n@sx2\nGGCCAATT\n+sx2\nhhhh;;??\n',
  phred: [
    [1, 1, 2, 2, 3, 3, 4, 10, 20, 30, 40, 62],
    [40, 40, 40, 40, 1, 1, 3, 3],
  ],
};

/** Illumina 1.5+ Phred+64: 'B' (Q2) marks the read-segment quality control indicator; no byte below '@'. */
export const PHRED64 = {
  text: '@i1\nACGTACGTAC\n+\nhhhhgfeBBB\n@i2\nTTGGCCAA\n+\n@ADJT^hh\n',
  phred: [
    [40, 40, 40, 40, 39, 38, 37, 2, 2, 2],
    [0, 1, 4, 10, 20, 30, 40, 40],
  ],
};

const base = fastq(READS);
const lines = base.split('\n');
const edit = (i: number, v: string): string => lines.map((l, j) => (j === i ? v : l)).join('\n');
const insertAfter = (i: number, v: string): string => [...lines.slice(0, i + 1), v, ...lines.slice(i + 1)].join('\n');
const upTo = (n: number): string => lines.slice(0, n).join('\n');

/** Files that must be refused, with the message (file name 'err.fq'). Lines: record k starts at line 4k-3. */
export const ERRORS: { name: string; text: string; expect: RegExp }[] = [
  { name: "'+' line naming another read", text: edit(10, '+v3x lane=2'), expect: /record 3 \(line 11\): the '\+' line names read "v3x" but the header names "v3"/ },
  { name: 'header without @', text: edit(12, 'v4'), expect: /record 4 \(line 13\): header line must start with '@', found 'v'/ },
  { name: 'tab in a sequence', text: edit(1, 'ACGTT\tGCAAGGCTTAACGG'), expect: /record 1 \(line 2\): invalid character byte 0x09 in sequence at position 6/ },
  { name: 'space in a sequence', text: edit(5, 'TTGAC CAGTAGGCATCCGA'), expect: /record 2 \(line 6\): invalid character byte 0x20 in sequence at position 6/ },
  { name: 'sequence twice (header and sequence repeated)', text: insertAfter(13, `@${READS[3]!.title}\n${READS[3]!.seq}`), expect: /record 4 \(line 15\): missing '\+' separator line \(found '@'\)/ },
  { name: 'quality twice', text: insertAfter(7, `+\n${READS[1]!.qual}`), expect: /record 3 \(line 9\): header line must start with '@', found '\+'/ },
  { name: 'no quality', text: edit(3, ''), expect: /record 1 \(line 4\): quality length 0 != sequence length 20/ },
  { name: 'short quality', text: edit(7, READS[1]!.qual.slice(1)), expect: /record 2 \(line 8\): quality length 19 != sequence length 20/ },
  { name: 'long quality', text: edit(15, '55555'), expect: /record 4 \(line 16\): quality length 5 != sequence length 4/ },
  { name: 'DEL in a quality', text: edit(3, 'IIII\x7fHHHGGFFEEDDCCBA'), expect: /record 1 \(line 4\): invalid quality character byte 0x7f at position 5/ },
  { name: 'escape in a quality', text: edit(3, 'IIII\x1bHHHGGFFEEDDCCBA'), expect: /record 1 \(line 4\): invalid quality character byte 0x1b at position 5/ },
  { name: 'NUL in a quality', text: edit(7, '#$%&\x00()*+,-./0123456'), expect: /record 2 \(line 8\): invalid quality character byte 0x00 at position 5/ },
  { name: 'unit separator in a quality', text: edit(15, '5\x1f55'), expect: /record 4 \(line 16\): invalid quality character byte 0x1f at position 2/ },
  { name: 'vertical tab in a quality', text: edit(15, '55\x0b5'), expect: /record 4 \(line 16\): invalid quality character byte 0x0b at position 3/ },
  { name: 'space in a quality', text: edit(15, '55 5'), expect: /record 4 \(line 16\): invalid quality character byte 0x20 at position 3/ },
  { name: 'tab in a quality', text: edit(15, '5\t55'), expect: /record 4 \(line 16\): invalid quality character byte 0x09 at position 2/ },
  { name: 'truncated in the title', text: upTo(16) + '\n@v5 la', expect: /record 5 \(line 17\): truncated record: the file ends after the header line/ },
  { name: 'truncated at the sequence', text: upTo(17) + '\n', expect: /record 5 \(line 17\): truncated record: the file ends after the header line/ },
  { name: 'truncated in the sequence', text: upTo(17) + '\nATGCATG', expect: /record 5 \(line 17\): truncated record: the file ends before its '\+' line/ },
  { name: 'truncated at the + line', text: upTo(18) + '\n\n', expect: /record 5 \(line 17\): truncated record: the file ends before its '\+' line/ },
  { name: 'truncated in the + line', text: upTo(18) + '\n+v5 la', expect: /record 5 \(line 17\): truncated record: the file ends before its quality line/ },
  { name: 'truncated at the quality', text: upTo(19) + '\n', expect: /record 5 \(line 17\): truncated record: the file ends before its quality line/ },
  { name: 'truncated in the quality', text: upTo(19) + '\n+@+@+@+@+@', expect: /record 5 \(line 17\): truncated record: quality length 10 != sequence length 28 at the end of the file/ },
];
