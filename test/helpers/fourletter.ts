// Four-letter words over raw TCP, the way nc and zktop send them (one
// implementation, in src/testing, shared with the launchers).
import { fourLetterWord } from '../../src/testing/servers.js';

export { fourLetterWord };

/** True once the server answers `ruok` with `imok`; false on any error. */
export async function isOk(port: number, timeoutMs = 2_000): Promise<boolean> {
  try {
    return (await fourLetterWord(port, 'ruok', timeoutMs)) === 'imok';
  } catch {
    return false;
  }
}
