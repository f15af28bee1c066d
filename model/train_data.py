"""Training batches made ahead of the GPU: a background thread runs the data stream and hands over
(idx, doc_ids, targets[, answer, retrieval targets, copy sources]) as pinned host tensors, each with the
stream position after it, so a checkpoint records the position of the last batch the model consumed and a
resumed run sees the same next batch.
"""

import copy
import queue
import threading
import time
from typing import Any

import numpy as np
import torch

Batch = tuple[torch.Tensor, ...]


class Prefetcher:
    def __init__(self, stream, batch_size: int, depth: int = 4, pin: bool = False, answers: bool = False):
        self.stream, self.batch_size, self.pin, self.answers = stream, batch_size, pin, answers
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stopping = threading.Event()
        self.waited = 0.0  # seconds the consumer spent waiting for a batch (> 0: the data starves the GPU)
        self.thread = threading.Thread(target=self._work, name="batch-prefetch", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            while not self.stopping.is_set():
                raw = self.stream.next_batch(self.batch_size, answers=self.answers)
                tensors = tuple(torch.as_tensor(np.asarray(x, dtype=np.int64)) for x in raw)
                if self.pin:
                    tensors = tuple(t.pin_memory() for t in tensors)
                item = (tensors, copy.deepcopy(self.stream.state_dict()))
                while not self.stopping.is_set():
                    try:
                        self.queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except Exception as e:  # handed to the consumer, which raises it in the training loop
            self.queue.put((e, None))

    def next(self) -> tuple[Batch, dict[str, Any]]:
        """The next batch and the stream state just after it."""
        try:
            item = self.queue.get_nowait()
        except queue.Empty:
            start = time.perf_counter()
            item = self.queue.get()
            self.waited += time.perf_counter() - start
        batch, state = item
        if isinstance(batch, Exception):
            raise RuntimeError(f"the training data stream failed: {batch}") from batch
        return batch, state

    def close(self) -> None:
        self.stopping.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self.thread.join()
