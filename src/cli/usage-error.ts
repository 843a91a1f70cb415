import { ImgverifyError } from '..';

/** A command-line usage error (exit 2). */
export function usageError(message: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', message);
}
