// What jobs write into `error` columns, which anyone who may read the API reads: the data layer's
// errors lose their server paths and anything a file contains; other errors keep their message.
import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/jobs/helpers.ts';
import { DatasetError, ImageError } from '../../src/ml/index.ts';
import { OutsideRootsError } from '../../src/sources/roots.ts';

describe('errorMessage (for error columns)', () => {
  it('reduces dataset and image errors to a reason and their code', () => {
    const json = new DatasetError('INVALID_JSON', '/srv/data/captions.json', 'malformed JSON at position 0', {
      cause: new SyntaxError('Unexpected token \'r\', "root:*:19"... is not valid JSON'),
    });
    expect(errorMessage(json)).toBe('the annotations file is not valid JSON (malformed JSON at position 0) (INVALID_JSON)');
    const missing = new DatasetError('MISSING_IMAGE', '/srv/data/images/a.jpg', '2 image file(s) listed in the annotations do not exist', {
      more: '/srv/data/images/a.jpg, /srv/data/images/b.jpg',
    });
    expect(missing.message).toContain('/srv/data/images/b.jpg'); // the CLI and the log see the files…
    expect(errorMessage(missing)).toBe('2 image file(s) listed in the annotations do not exist (MISSING_IMAGE)'); // … the row does not
    expect(errorMessage(new DatasetError('FILE_NOT_FOUND', '/etc/nope', 'cannot read the annotations file (ENOENT)'))).toBe(
      'the annotations file cannot be read (FILE_NOT_FOUND)',
    );
    const image = new ImageError(
      'NOT_AN_IMAGE',
      '/srv/data/images/x.jpg',
      "cannot read file: EACCES: permission denied, open '/srv/data/images/x.jpg'",
    );
    expect(errorMessage(image)).toBe('image: not a JPEG, PNG or WebP image (NOT_AN_IMAGE)');
    expect(errorMessage(new OutsideRootsError(['/srv/data']))).toBe(
      'a path of the dataset is not an absolute path under the dataset roots (GLIMPSE_DATASET_ROOTS)',
    );
    for (const e of [json, missing, image]) expect(errorMessage(e)).not.toMatch(/\/srv|root:/);
  });

  it('keeps the message of other errors', () => {
    expect(errorMessage(new Error('cannot load backbone https://x/model.json: HTTP 404'))).toBe(
      'cannot load backbone https://x/model.json: HTTP 404',
    );
    expect(errorMessage('plain')).toBe('plain');
  });
});
