/** byte -> 2-bit base code (A=0, C=1, G=2, T=3), -1 for anything else (sequences are upper-cased by the parser). */
export const BASE2 = (() => {
  const t = new Int8Array(256).fill(-1);
  t[0x41] = 0;
  t[0x43] = 1;
  t[0x47] = 2;
  t[0x54] = 3;
  return t;
})();
