"""Training data for hsa-mini: the corpus (corpus.py), synthetic retrieval tasks (tasks.py), code QA
(codeqa.py) and the packed training stream (stream.py). CLIs: python -m model.data.build / model.data.show."""
