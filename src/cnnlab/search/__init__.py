"""Hyperparameter search on Optuna: the space, the study, the trial's side, the report and plots.

The Hydra sweeper that drives a search lives in `hydra_plugins.cnnlab_search` (Hydra only
instantiates plugins from that namespace); everything it uses is here.
"""
