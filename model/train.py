"""Train the embedded model (or its dense / mixture-of-experts comparisons) in stretches that save and resume.

    python -m model.train --out .train/run --corpus .train/corpus --minutes 8.5 --plan-minutes 17 \\
        --export $OUT/model
    python -m model.train --out .train/run --corpus .train/corpus --minutes 8.5 \\
        --resume .train/run .carry/model --export $OUT/model
    python -m model.train --out .train/tune --corpus .train/corpus --init resources/model \\
        --seq-len 1024,4096,8192 --full-share 0.3 --task-share 0.4 --qa-share 0.2 --retrieval-weight 1 \\
        --train-only 'w_retrieval|retrieval_norm|encoder\\.' --lr 1e-3 --plan-minutes 4.2

--minutes is this process's wall-clock budget (start to final export; --until, a Unix time, can end it
sooner, e.g. a deadline set before a corpus build in the same command); --plan-minutes / --plan-steps the
whole run's length, which sets the curriculum and the learning-rate schedule (model/train_schedule.py).
At every checkpoint (every --checkpoint-minutes, on SIGTERM and at the end) RUN/state/ gets everything to
resume exactly, and RUN/model (and --export) the bf16 model folder with trainer.json and the log, from which
--resume also restarts on a fresh machine (the optimizer moments restart). RUN/log.jsonl: one JSON object
per line (steps, monitor, phases, checkpoints). The third command is the shipped model's second stage
(retrieval supervision of the chunk encoder and retrieval queries only; docs/model-card.md).
"""

import argparse
import dataclasses
import json
import random
import re
import signal
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from model import checkpoint
from model.config import ConfigError
from model.data.corpus import Corpus
from model.data.stream import TrainStream
from model.data.tasks import KINDS
from model.tokenizer import Tokenizer
from model.train_data import Prefetcher
from model.train_monitor import NeedleMonitor, heldout_corpus, training_corpus
from model.train_schedule import Curriculum, LearningRate, Phase, Plan
from model.train_state import (
    LOG_NAME,
    TRAINER_JSON,
    export,
    load_state,
    read_export,
    save_state,
    state_folder,
)
from model.train_variants import VARIANTS, variant_config
from model.transformer import IGNORE_INDEX, Transformer


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="run folder (state/, log.jsonl)")
    p.add_argument("--corpus", type=Path, required=True, help="corpus folder of python -m model.data.build")
    p.add_argument("--minutes", type=float, default=8.5, help="wall-clock budget of this process")
    p.add_argument("--until", type=float, default=0.0, help="Unix time by which this process has ended")
    p.add_argument("--plan-minutes", type=float, default=0.0, help="training minutes of the whole run")
    p.add_argument("--plan-steps", type=int, default=0, help="steps of the whole run")
    p.add_argument("--max-steps", type=int, default=0, help="stop this process at this step")
    p.add_argument("--variant", choices=VARIANTS, default="hsa")
    p.add_argument("--preset", default="hsa-mini")
    p.add_argument("--landmark-dim", type=int, default=0,
                   help="the preset's landmark width otherwise (a model of python -m model.widen)")
    p.add_argument("--window", type=int, default=0, help="the preset's sliding window otherwise")
    p.add_argument("--encoder-layers", type=int, default=0,
                   help="the preset's chunk-encoder layers otherwise")
    p.add_argument("--n-layers", type=int, default=0,
                   help="the preset's layer count otherwise (half of them below the chunk encoder)")
    p.add_argument("--lower-layers", type=int, default=0,
                   help="layers below the chunk encoder (default half; model.widen grows them)")
    p.add_argument("--lse-fusion", action="store_true",
                   help="fuse the chosen chunks by softmax(score + sum of beta * in-chunk log-sum-exp over "
                        "the query heads), a beta learned per HSA layer and query head (model.widen "
                        "--lse-fusion adds them to a trained model)")
    p.add_argument("--kv-heads", type=int, default=0,
                   help="the preset's chunk-memory KV heads otherwise (hsa_kv_heads)")
    p.add_argument("--short-window", type=int, default=0,
                   help="the window layers read with this shorter window in the full-k warm-up and on a "
                        "--short-share of the later steps (drawn per step), the model's own otherwise, so "
                        "that a long window does not take over what HSA must learn (arXiv 2509.24552)")
    p.add_argument("--short-share", type=float, default=0.5,
                   help="share of the steps after the warm-up that read with --short-window")
    p.add_argument("--seq-len", default="4096,8192,16384", help="training lengths, shortest first")
    p.add_argument("--full-share", type=float, default=0.25, help="share of the plan in the full-k warm-up")
    p.add_argument("--sparse-top-k", type=int, default=0,
                   help="top-k after the warm-up, and the model's own from then on (its config.json reads as "
                        "many chunks as it trained with; 0: the model's)")
    p.add_argument("--batch-tokens", type=int, default=131072)
    p.add_argument("--micro-tokens", type=int, default=131072, help="tokens per forward (grad accumulation)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-scale", default="",
                   help="PATTERN=FACTOR: parameters whose names match the regular expression PATTERN "
                        "learn at FACTOR times the learning rate (a widened landmark's projections)")
    p.add_argument("--lr-shape", choices=("wsd", "cosine"), default="wsd")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--task-share", type=float, default=0.25)
    p.add_argument("--qa-share", type=float, default=0.15)
    p.add_argument("--task-kinds", default=",".join(KINDS), help="synthetic task kinds mixed in")
    p.add_argument("--qa-per-row", type=int, default=1,
                   help="code questions per qa row (at most one per 1K tokens): a long row is a project "
                        "asked several things")
    p.add_argument("--passage-share", type=float, default=0.0,
                   help="share of qa rows that ask passage questions (a sentence of a prose file or a "
                        "docstring, named by its words; model/data/prose.py) instead of code questions")
    p.add_argument("--turns-share", type=float, default=0.0,
                   help="share of qa rows with several questions that ask them as chats of 2-5 turns (one "
                        "question document: earlier questions and answers, then the next question)")
    p.add_argument("--namesake-share", type=float, default=0.0,
                   help="share of qa rows with several code questions that ask first about definitions whose "
                        "name another definition of the row's files has too (two classes' `post`)")
    p.add_argument("--rename-share", type=float, default=0.0,
                   help="share of code-question rows that show the asked file's package with every class it "
                        "defines renamed (model/data/renames.py): owners matched as written, not remembered")
    p.add_argument("--twin-share", type=float, default=0.0,
                   help="share of code-question rows that show the asked file again under a sibling path "
                        "with its classes renamed, and ask by owner about the two copies' members "
                        "(model/data/twins.py): namesakes told apart by the owner alone")
    p.add_argument("--twin-copies", type=int, default=1,
                   help="renamed copies of the asked file in a twin row (1-3; each method then has as many "
                        "namesakes, as a multi-key task has several needles)")
    p.add_argument("--owner-first", action="store_true",
                   help="methods' definition-lookup answers begin with the qualified name (Owner.name: ...), "
                        "copied from the definition line's scope comment")
    p.add_argument("--answer-weight", type=float, default=0.0,
                   help="loss = mean over all targets + this x mean over the answers of question documents")
    p.add_argument("--retrieval-weight", type=float, default=0.0,
                   help="+ this x cross-entropy of the HSA chunk choice toward the chunk holding each answer "
                        "token's text (the needle it copies, the definition; Row.retrieval_targets), at the "
                        "answer tokens of question documents (retrieval supervision)")
    p.add_argument("--fusion-weight", type=float, default=0.0,
                   help="+ this x cross-entropy of the fusion softmax (landmark score + beta x in-chunk "
                        "log-sum-exp, over the top-k chunks, the target put among them) toward the same "
                        "chunk as the retrieval supervision, at the same positions (lse_fusion models; needs "
                        "--retrieval-weight above 0): teaches the in-chunk match to tell chunks apart whose "
                        "landmarks score alike")
    p.add_argument("--retrieval-negatives", choices=("row", "batch"), default="row",
                   help="the chunks the retrieval supervision ranks the target against: those its row shows "
                        "the position, or those and every chunk of the batch's other rows")
    p.add_argument("--copy-weight", type=float, default=0.0,
                   help="+ this x -log of the HSA heads' attention share on the token each answer token "
                        "copies (a needle's, or the file's for code questions), inside that token's chunk "
                        "(copy supervision)")
    p.add_argument("--train-only", default="",
                   help="a regular expression: only parameters whose names match it train (the rest frozen)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", type=Path, nargs="+", default=[],
                   help="run folders with state/ or --export folders: the first usable one, in that order")
    p.add_argument("--init", type=Path,
                   help="start from this model folder's weights (a new run: step 0, fresh schedule and data)")
    p.add_argument("--export", type=Path, help="also write the bf16 model folder (RUN/model) here")
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--monitor-every", type=int, default=250, help="needle accuracy every N steps (0: never)")
    p.add_argument("--monitor-samples", type=int, default=8)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile the training forward")
    return p.parse_args(argv)


def continues_centred(args: argparse.Namespace) -> bool:
    """Whether the run continues a model with a landmark centre: the --init folder's config, else the saved
    config of the source that Trainer._resume takes (a run state first, then a training export)."""
    if not args.resume:
        return args.init is not None and checkpoint.read_config(args.init).landmark_center
    metas = [folder / "meta.json" for folder in map(state_folder, args.resume) if folder is not None]
    metas += [source / TRAINER_JSON for source in args.resume if (source / TRAINER_JSON).is_file()]
    return bool(metas) and bool(json.loads(metas[0].read_text())["config"].get("landmark_center", False))


class Trainer:
    def __init__(self, args: argparse.Namespace):
        self.args, self.start = args, time.monotonic()
        self.device = torch.device(args.device)
        self.log_path = args.out / LOG_NAME
        self.tokenizer = Tokenizer.load()  # the one model.data.build tokenized the corpus with
        self.corpus: Corpus = training_corpus(args.corpus)
        shape = {k: v for k, v in (("landmark_dim", args.landmark_dim), ("window", args.window),
                                   ("encoder_layers", args.encoder_layers), ("n_layers", args.n_layers),
                                   ("hsa_kv_heads", args.kv_heads), ("lower_layers", args.lower_layers),
                                   ("lse_fusion", args.lse_fusion)) if v}
        try:
            self.cfg = variant_config(args.preset, args.variant, vocab_size=self.tokenizer.vocab_size,
                                      **shape)
        except ConfigError as e:
            raise SystemExit(str(e)) from None
        if continues_centred(args):  # a calibrated start keeps its centre (model/calibrate.py)
            self.cfg = dataclasses.replace(self.cfg, landmark_center=True)
        if args.sparse_top_k:  # read at inference as trained
            self.cfg = dataclasses.replace(self.cfg, hsa_top_k=args.sparse_top_k)
        self.curriculum = Curriculum(tuple(int(n) for n in args.seq_len.split(",")), args.full_share,
                                     args.sparse_top_k)
        self.curriculum.validate(self.cfg)
        if args.short_window and not (0 < args.short_window < self.cfg.window and 0 <= args.short_share <= 1):
            raise SystemExit(f"--short-window must be under the model's window ({self.cfg.window}) and "
                             f"--short-share in [0, 1]; got {args.short_window} and {args.short_share}")
        if args.fusion_weight and not (args.retrieval_weight > 0 and self.cfg.lse_fusion):
            raise SystemExit("--fusion-weight needs --retrieval-weight above 0 and a model with lse_fusion "
                             "(--lse-fusion)")
        self.lr = LearningRate(args.lr, args.warmup_steps, args.lr_shape)
        self.step, self.tokens, self.seconds, self.rewarm_from = 0, 0, 0.0, 0
        self.plan = Plan(args.plan_steps, args.plan_minutes * 60) if args.plan_steps or args.plan_minutes \
            else Plan(args.max_steps, args.minutes * 60 if not args.max_steps else 0.0)
        self.model = Transformer(self.cfg).to(self.device)
        if args.train_only:
            pattern = re.compile(args.train_only)
            for name, param in self.model.named_parameters():
                param.requires_grad_(bool(pattern.search(name)))
            if not any(p.requires_grad for p in self.model.parameters()):
                raise SystemExit(f"--train-only {args.train_only!r} matches no parameter of the model")
        args.out.mkdir(parents=True, exist_ok=True)  # the arguments hold: a bad one leaves no folder
        stream_state = self._resume()  # after the freezing: a resumed optimizer holds the trainable ones
        self.model.train()
        self.inference_top_k = self.cfg.hsa_top_k
        self.optimizer = self.optimizer or make_optimizer(self.model, args)
        self.forward = torch.compile(self.model) if args.compile else self.model
        self.phase = self.curriculum.phase(self.progress(), self.cfg)
        self.stream = self._stream(self.phase.seq_len)
        self.stream_state = self.stream.state_dict() if stream_state is None else stream_state
        self.prefetcher = self._prefetcher()
        held = heldout_corpus(args.corpus) if self.cfg.attention == "hsa" else None
        self.monitor = NeedleMonitor(held, self.tokenizer, args.monitor_samples) if held is not None else None
        self.stop_requested, self.monitor_seconds, self.short_steps = False, 0.0, 0

    # ---------------------------------------------------------------------------------- resume
    def _resume(self) -> dict | None:
        """Restore from the first usable --resume folder: a run's full state (exact), else a training export
        (weights, data position and schedule; the optimizer restarts). Returns the stream state."""
        self.optimizer = None
        if not self.args.resume:
            if self.args.init is not None:
                model, _ = checkpoint.load(self.args.init, device=str(self.device))
                # the chunks read per layer are a setting, not a weight: a start that read 8 may go on with 32
                if {**model.cfg.to_dict(), "hsa_top_k": 0} != {**self.cfg.to_dict(), "hsa_top_k": 0}:
                    raise SystemExit(f"--init: {self.args.init} holds a different model than "
                                     "--preset/--variant")
                if not self.args.sparse_top_k:
                    self.cfg.hsa_top_k = model.cfg.hsa_top_k  # go on reading as many as the start did
                self.model.load_state_dict(model.state_dict())
                self.event("init", source=str(self.args.init))
            return None
        for source in self.args.resume:
            folder = state_folder(source)
            if folder is not None:
                self.optimizer = make_optimizer(self.model, self.args)
                meta = load_state(folder, self.model, self.optimizer)
                self._restore_meta(meta)
                self.event("resumed", source=str(folder))
                return meta["stream"]
        for source in self.args.resume:
            if (source / TRAINER_JSON).is_file():
                model, meta, log = read_export(source, str(self.device))
                self.model.load_state_dict(model.state_dict())
                self._restore_meta(meta)
                self.rewarm_from = self.step  # fresh optimizer moments: warm the learning rate up again
                if log is not None and not self.log_path.is_file():
                    self.log_path.write_text(log.read_text())
                self.event("resumed", source=str(source), optimizer="restarted")
                return meta["stream"]
        raise SystemExit(f"--resume: none of {', '.join(map(str, self.args.resume))} holds a run state "
                         f"(state/) or a training export ({TRAINER_JSON})")

    def _restore_meta(self, meta: dict) -> None:
        if meta["config"] != self.cfg.to_dict():
            raise SystemExit("--resume: the saved model config differs from this run's (--preset/--variant)")
        self.step, self.tokens, self.seconds = meta["step"], meta["tokens"], meta["seconds"]
        self.rewarm_from = meta.get("rewarm_from", 0)
        if not (self.args.plan_steps or self.args.plan_minutes):
            self.plan = Plan(meta["plan"]["plan_steps"], meta["plan"]["plan_seconds"])

    def meta(self) -> dict:
        return {"step": self.step, "tokens": self.tokens, "seconds": self.seconds,
                "stream": self.stream_state,
                "plan": {"plan_steps": self.plan.plan_steps, "plan_seconds": self.plan.plan_seconds},
                "config": self.cfg.to_dict(), "variant": self.args.variant, "rewarm_from": self.rewarm_from,
                "phase": self.phase.name}

    # ------------------------------------------------------------------------------------- loop
    def progress(self) -> float:
        return self.plan.progress(self.step, self.seconds)

    def _prefetcher(self) -> Prefetcher:
        self.stream.load_state_dict({**self.stream_state, "seq_len": self.phase.seq_len})
        rows = max(1, self.args.batch_tokens // self.phase.seq_len)
        return Prefetcher(self.stream, rows, pin=self.device.type == "cuda", answers=True)

    def _stream(self, seq_len: int) -> TrainStream:
        args = self.args
        return TrainStream(self.corpus, self.tokenizer, seq_len=seq_len, seed=args.seed,
                           task_share=args.task_share, qa_share=args.qa_share,
                           task_kinds=args.task_kinds.split(","), questions_per_row=args.qa_per_row,
                           passage_share=args.passage_share, turns_share=args.turns_share,
                           namesake_share=args.namesake_share, rename_share=args.rename_share,
                           owner_first=args.owner_first, twin_share=args.twin_share,
                           twin_copies=args.twin_copies)

    def _set_phase(self, phase: Phase) -> None:
        self.prefetcher.close()
        self.phase = phase
        self.stream = self._stream(phase.seq_len)
        self.prefetcher = self._prefetcher()
        self.event("phase", phase=phase.name, seq_len=phase.seq_len, top_k=phase.top_k)

    def train_step(self, batch) -> tuple[torch.Tensor, ...]:
        """One optimizer step over a batch (micro-batches of --micro-tokens): (mean loss over all targets,
        gradient norm before clipping, learning rate, mean loss over answer tokens, retrieval loss, copy
        loss, fusion loss), tensors on the device. The loss minimised is the first + --answer-weight x the
        fourth + --retrieval-weight x the fifth + --copy-weight x the sixth + --fusion-weight x the
        seventh."""
        idx, doc_ids, targets, answer, wanted, copies = (t.to(self.device, non_blocking=True) for t in batch)
        counted = (targets != IGNORE_INDEX).sum().clamp_min(1)
        answered = answer.sum().clamp_min(1)
        supervise = self.args.retrieval_weight > 0 and self.cfg.attention == "hsa"
        copying = self.args.copy_weight > 0 and self.cfg.attention == "hsa"
        fusing = supervise and self.args.fusion_weight > 0  # __init__ refused it without lse_fusion
        n_copies = (copies >= 0).sum().clamp_min(1)
        n_wanted = (wanted >= 0).sum().clamp_min(1)
        per_micro = max(1, self.args.micro_tokens // idx.shape[1])
        total = torch.zeros((), device=self.device)
        answer_total = torch.zeros((), device=self.device)
        retrieval_total = torch.zeros((), device=self.device)
        copy_total = torch.zeros((), device=self.device)
        fusion_total = torch.zeros((), device=self.device)
        self.cfg.hsa_top_k = self.phase.top_k
        window = self.window_at(self.step)
        self.model.set_window(window)
        for lo in range(0, idx.shape[0], per_micro):
            rows = slice(lo, lo + per_micro)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.device.type == "cuda"):
                logits, _ = self.forward(idx[rows], doc_ids[rows],
                                         retrieval_targets=wanted[rows] if supervise else None,
                                         copy_targets=copies[rows] if copying else None,
                                         batch_negatives=self.args.retrieval_negatives == "batch",
                                         fusion=fusing)
            losses = F.cross_entropy(logits.float().flatten(0, 1), targets[rows].flatten(),
                                     ignore_index=IGNORE_INDEX, reduction="none")
            lm = losses.sum() / counted  # token-weighted mean over the micro-batches
            on_answer = (losses * answer[rows].flatten()).sum() / answered
            objective = lm + self.args.answer_weight * on_answer
            if supervise:
                retrieval = self.model.retrieval_loss * (wanted[rows] >= 0).sum() / n_wanted
                objective = objective + self.args.retrieval_weight * retrieval
                retrieval_total += retrieval.detach()
            if fusing:
                fused = self.model.fusion_loss * (wanted[rows] >= 0).sum() / n_wanted
                objective = objective + self.args.fusion_weight * fused
                fusion_total += fused.detach()
            if copying:
                copied = self.model.copy_loss * (copies[rows] >= 0).sum() / n_copies
                objective = objective + self.args.copy_weight * copied
                copy_total += copied.detach()
            objective.backward()
            total += lm.detach()
            answer_total += on_answer.detach()
        lr = self.lr.at(self.step - self.rewarm_from, self.progress())
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
        # a gradient with inf/NaN would turn every weight into NaN (clipping by a non-finite norm makes every
        # gradient NaN): the step is skipped and logged, the weights and the optimizer's moments stay as they
        # were (one read of the device per step)
        if bool(torch.isfinite(norm)):
            self.optimizer.step()
        else:
            self.event("skipped", reason=f"gradient norm {float(norm)}")
        self.optimizer.zero_grad(set_to_none=True)
        if self.cfg.ffn == "moe":
            self.model.update_moe_biases()
        self.cfg.hsa_top_k = self.inference_top_k
        self.model.set_window(self.cfg.window)
        self.short_steps += window != self.cfg.window
        return total, norm, lr, answer_total, retrieval_total, copy_total, fusion_total

    def window_at(self, step: int) -> int:
        """The sliding window of this step: --short-window in the full-k warm-up and, drawn from the seed and
        the step (a resumed run draws the same), on a --short-share of the later steps; else the model's."""
        short = self.args.short_window
        if not short:
            return self.cfg.window
        if self.phase.name == "full-k":
            return short
        return short if random.Random(self.args.seed * 1_000_003 + step).random() < self.args.short_share \
            else self.cfg.window

    def run(self) -> None:
        args = self.args
        budget = args.minutes * 60
        if args.until:
            budget = min(budget, args.until - time.time() + (time.monotonic() - self.start))
        last_save, monitored = time.monotonic(), -1
        # since the last log line
        window = {"loss": [], "answer_loss": [], "retrieval_loss": [], "copy_loss": [], "fusion_loss": [],
                  "tokens": 0, "t": time.monotonic(), "waited": 0.0}
        self.event("start", params=self.model.num_params(), device=str(self.device), phase=self.phase.name,
                   progress=round(self.progress(), 4))
        while not self.stop_requested:
            reserve = 15.0 + self.monitor_seconds  # kept for the final needle check, save and export
            if time.monotonic() - self.start > budget - reserve or self.progress() >= 1 or \
                    (args.max_steps and self.step >= args.max_steps):
                break
            phase = self.curriculum.phase(self.progress(), self.cfg)
            if phase != self.phase:
                self._set_phase(phase)
            t0 = time.monotonic()
            batch, state = self.prefetcher.next()
            loss, norm, lr, answer_loss, retrieval_loss, copy_loss, fusion_loss = self.train_step(batch)
            self.stream_state = state
            self.step += 1
            self.tokens += batch[0].numel()
            window["loss"].append(loss)
            if int(batch[3].sum()):  # a batch with no question document has no answer loss
                window["answer_loss"].append(answer_loss)
                window["retrieval_loss"].append(retrieval_loss)
                window["copy_loss"].append(copy_loss)
                window["fusion_loss"].append(fusion_loss)
            window["tokens"] += batch[0].numel()
            if self.step % args.log_every == 0:
                self._log_window(window, norm, lr)
            self.seconds += time.monotonic() - t0
            if args.monitor_every and self.step % args.monitor_every == 0:
                monitored = self.check_needles()
                window["t"] = time.monotonic()  # tokens/s counts training only
            if time.monotonic() - last_save > args.checkpoint_minutes * 60:
                self.save()
                last_save = window["t"] = time.monotonic()
        self.prefetcher.close()
        if args.monitor_every and monitored != self.step:
            self.check_needles()
        self.event("end", elapsed=round(time.monotonic() - self.start, 1))  # before the save: in the export
        self.save()

    def check_needles(self) -> int:
        """Log the needle monitor's numbers (if there is a monitor); returns the step."""
        if self.monitor is not None:
            numbers = self.monitor(self.model, self.phase.seq_len)
            self.monitor_seconds = numbers.get("monitor_s", 0.0)
            self.event("monitor", **numbers)
        return self.step

    def _log_window(self, window: dict, norm: torch.Tensor, lr: float) -> None:
        now = time.monotonic()
        n, m = len(window["loss"]), len(window["answer_loss"])
        losses = torch.stack(window["loss"] + window["answer_loss"] + window["retrieval_loss"]
                             + window["copy_loss"] + window["fusion_loss"]).float().cpu()
        answer_loss = round(float(losses[n:n + m].mean()), 4) if m else None
        retrieval_loss = round(float(losses[n + m:n + 2 * m].mean()), 4) if m and self.args.retrieval_weight \
            else None
        copy_loss = round(float(losses[n + 2 * m:n + 3 * m].mean()), 4) if m and self.args.copy_weight \
            else None
        fusion = {"fusion_loss": round(float(losses[n + 3 * m:].mean()), 4)} \
            if m and self.args.fusion_weight else {}
        waited = self.prefetcher.waited - window["waited"]
        self.event("step", loss=round(float(losses[:n].mean()), 4), answer_loss=answer_loss,
                   retrieval_loss=retrieval_loss, copy_loss=copy_loss, lr=round(lr, 6),
                   grad_norm=round(float(norm), 3),
                   tokens_per_s=round(window["tokens"] / max(now - window["t"], 1e-9)),
                   data_wait_s=round(waited, 3), top_k=self.phase.top_k, seq_len=self.phase.seq_len,
                   **({"short_window_steps": self.short_steps} if self.args.short_window else {}),
                   **fusion, **self.fusion_betas())
        self.short_steps = 0
        window.update(loss=[], answer_loss=[], retrieval_loss=[], copy_loss=[], fusion_loss=[], tokens=0,
                      t=now, waited=self.prefetcher.waited)

    def fusion_betas(self) -> dict:
        """With lse_fusion, each HSA layer's betas (one per query head, rounded) for the step record."""
        betas = [layer.fusion_beta for layer in self.model.upper
                 if getattr(layer, "fusion_beta", None) is not None]
        return {"fusion_betas": [[round(b, 3) for b in beta.tolist()] for beta in betas]} if betas else {}

    def save(self) -> None:
        t0 = time.monotonic()
        meta = self.meta()
        save_state(self.args.out, self.model, self.optimizer, meta)
        for folder in (self.args.out / "model", self.args.export):
            if folder is not None:
                export(folder, self.model, self.tokenizer, meta, self.log_path)
        self.event("checkpoint", seconds=round(time.monotonic() - t0, 2))

    def event(self, kind: str, **fields) -> None:
        phase = getattr(self, "phase", None)
        record = {"event": kind, "step": self.step, "tokens": self.tokens, "phase": phase and phase.name,
                  "time": round(time.monotonic() - self.start, 2), **fields}
        line = json.dumps(record)
        print(line, flush=True)
        with open(self.log_path, "a") as f:
            f.write(line + "\n")


def lr_scale(spec: str) -> tuple[re.Pattern | None, float]:
    """--lr-scale PATTERN=FACTOR as (pattern, factor); (None, 1.0) when empty."""
    if not spec:
        return None, 1.0
    pattern, _, factor = spec.rpartition("=")
    try:
        return re.compile(pattern), float(factor)
    except (re.error, ValueError) as e:
        raise SystemExit(f"--lr-scale {spec!r}: expected PATTERN=FACTOR ({e})") from None


def make_optimizer(model: Transformer, args: argparse.Namespace) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; weight decay on matrices only (not norms, biases, the CLS);
    the parameters --lr-scale names in groups of their own with that factor on the learning rate."""
    pattern, factor = lr_scale(args.lr_scale)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    scaled = {name for name, _ in named if pattern is not None and pattern.search(name)}
    if pattern is not None and not scaled:
        raise SystemExit(f"--lr-scale {args.lr_scale!r} matches no trainable parameter")
    groups = []
    for part, extra in ((False, {}), (True, {"lr_scale": factor})):
        params = [p for name, p in named if (name in scaled) == part]
        if part and not params:
            continue
        matrices, rest = [p for p in params if p.dim() >= 2], [p for p in params if p.dim() < 2]
        groups += [{"params": matrices, "weight_decay": args.weight_decay, **extra},
                   {"params": rest, "weight_decay": 0.0, **extra}]
    fused = next(model.parameters()).is_cuda
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)


def main(argv=None) -> None:
    args = parse_args(argv)
    trainer = Trainer(args)

    def request_stop(signum, frame):  # the step in flight finishes, then the run saves and exits
        trainer.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    trainer.run()


if __name__ == "__main__":
    sys.exit(main())
