// The package ships no types; only what zcloud calls is declared. On Linux both calls act on
// an open file description lock (fcntl F_OFD_SETLK) over the whole file.
declare module 'fs-native-extensions' {
  interface FsNativeExtensions {
    /** Takes an exclusive (or, with `shared`, a shared) lock without waiting; false when another open file description holds one. */
    tryLock(fd: number, options?: { shared?: boolean }): boolean;
    unlock(fd: number): void;
  }
  const extensions: FsNativeExtensions;
  export default extensions;
}
