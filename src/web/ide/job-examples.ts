// The IDE's example operations for the worker jobs beside training and captions: evaluations, bulk captions and
// the queues (./examples.ts puts them in its tabs).

export const evaluateModel = `# Score a model on a split of a READY dataset (VALIDATION: the images its run held
# out; TRAIN; ALL) with GREEDY or BEAM decoding, as a worker job: BLEU-1..4, CIDEr-D,
# the object metric on synthetic sets and the worst captions. Same numbers as
# \`glimpse eval\`. Follow it with the evaluationProgress tab; cancelEvaluation(id) stops it.
mutation EvaluateModel($input: EvaluateModelInput!) {
  evaluateModel(input: $input) {
    id
    status
    split
    method
  }
}
`;

export const evaluationProgress = `# The evaluation now and on every change (images done of total), then its scores;
# completes when it ends. Two models compare on the same images when their
# splitDigest is equal (query { model(id) { evaluations { … } } } lists a model's).
subscription EvaluationProgress($id: ID!) {
  evaluationProgress(id: $id) {
    status
    done
    total
    splitDigest
    bleu1
    bleu4
    ciderD
    objectF1
    examples {
      image
      hypothesis
      references
      score
    }
    error
  }
}
`;

export const captionDataset = `# Caption every image of a READY dataset as one job (queue bulk-caption).
# Follow it with bulkCaptionProgress; read the results page by page with
# bulkCaptionResults, or download resultsUrl (COCO-style results JSON).
mutation CaptionDataset($input: CaptionDatasetInput!) {
  captionDataset(input: $input) {
    id
    status
    total
    priority
    resultsUrl
  }
}
`;

export const bulkCaptionProgress = `subscription BulkCaptionProgress($id: ID!) {
  bulkCaptionProgress(id: $id) {
    status
    done
    total
    failed
    error
  }
}
`;

export const queues = `# The job queues; pauseQueue / resumeQueue (admin) stop and restart a queue:
# its jobs stay queued meanwhile.
query Queues {
  queues {
    name
    paused
    depth
  }
}
`;
