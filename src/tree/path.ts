// Path rules of ZooKeeper's PathUtils.validatePath, so a path Apache ZooKeeper
// refuses is refused here with the same error.

/** Returns null when valid, or the reason it is not. */
export function invalidPathReason(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 47) return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 47) return 'Path must not end with / character';
  let last = 47;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 47 && last === 47) return `empty node name specified @${i}`;
    if (c === 46 && last === 46) {
      if (path.charCodeAt(i - 2) === 47 && (i + 1 === path.length || path.charCodeAt(i + 1) === 47)) {
        return `relative paths not allowed @${i}`;
      }
    } else if (c === 46) {
      if (path.charCodeAt(i - 1) === 47 && (i + 1 === path.length || path.charCodeAt(i + 1) === 47)) {
        return `relative paths not allowed @${i}`;
      }
    } else if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
    last = c;
  }
  return null;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.substring(0, i);
}

export function baseName(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? '/' + child : parent + '/' + child;
}

/** ZooKeeper's %010d of a signed int: negative counters keep their sign. */
export function sequenceSuffix(n: number): string {
  if (n < 0) return '-' + String(-n).padStart(9, '0');
  return String(n).padStart(10, '0');
}
