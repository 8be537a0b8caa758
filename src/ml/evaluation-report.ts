// What `glimpse eval` and the service's `evaluation` job share, so the two give the same numbers: which
// images a split holds (the seeded split the run trained with, src/ml/data/coco.ts splitByImage), the
// decoding batch, and the scores of the captions (coco-caption BLEU-1..4 and CIDEr-D, the object metric on
// synthetic sets, the worst captions by their image's CIDEr-D).
import path from 'node:path';
import { splitByImage } from './data/coco.ts';
import { COLORS, SHAPES } from './data/shapes/scene.ts';
import { ciderD } from './metrics/cider.ts';
import { evaluateCaptions, type CaptionScores } from './metrics/index.ts';
import { objectScores } from './metrics/objects.ts';
import { tokenizeCaption } from './metrics/tokenize.ts';
import type { CaptionedImage } from './types.ts';
import { tokenize, type Vocabulary } from './vocab.ts';

/** images decoded together by `glimpse eval` (its --batch-size default) and the evaluation job */
export const EVAL_BATCH_SIZE = 32;

export type EvalSplit = 'val' | 'train' | 'all';

/** The images of `split`: the validation or training part of the seeded split, or all; the first `limit` only when given. */
export function splitImages(
  all: readonly CaptionedImage[],
  split: EvalSplit,
  { seed, valFraction }: { seed: number; valFraction: number },
  limit?: number | null,
): CaptionedImage[] {
  const chosen = split === 'all' ? [...all] : splitByImage(all, valFraction, seed)[split];
  return limit ? chosen.slice(0, limit) : chosen;
}

export interface CaptionExample {
  /** the image's file, relative to the dataset's image folder */
  image: string;
  references: string[];
  hypothesis: string;
  /** the image's CIDEr-D */
  score: number;
}

export interface EvaluationScores extends CaptionScores {
  /** synthetic sets (images that list their objects): object F1 and exact rate; null otherwise */
  objects: { f1: number; exactRate: number } | null;
  /** the `worst` lowest-scoring captions, lowest first */
  worst: CaptionExample[];
}

/** Scores `captions[i]` of `images[i]` (the same as evaluateCaptions, plus the object metric and the worst examples). */
export function scoreEvaluation(
  captions: readonly string[],
  images: readonly CaptionedImage[],
  imagesDir: string,
  worst = 5,
): EvaluationScores {
  const references = images.map((img) => img.captions);
  const scores = evaluateCaptions(captions, references);
  const perImage = ciderD(
    captions.map(tokenizeCaption),
    references.map((r) => r.map(tokenizeCaption)),
  ).perImage;
  const objects = objectScores(captions, images, COLORS, SHAPES);
  const order = perImage.map((score, i) => ({ score, i })).sort((a, b) => a.score - b.score || a.i - b.i);
  return {
    ...scores,
    objects: objects && { f1: objects.f1, exactRate: objects.exactRate },
    worst: order.slice(0, worst).map(({ score, i }) => ({
      image: path.relative(imagesDir, images[i]!.file),
      references: [...images[i]!.captions],
      hypothesis: captions[i]!,
      score,
    })),
  };
}

/** The share of the reference captions' words (occurrences, tokenised as the model encodes them) that its vocabulary knows. */
export function vocabularyCoverage(vocab: Vocabulary, images: readonly CaptionedImage[]): number {
  let words = 0;
  let known = 0;
  for (const img of images)
    for (const caption of img.captions)
      for (const word of tokenize(caption)) {
        words++;
        if (vocab.idOf(word) !== vocab.unkId) known++;
      }
  return words === 0 ? 1 : known / words;
}
