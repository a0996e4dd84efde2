"""The physics: tasks and trajectories, Gymnasium v5 tasks, bring-your-own MJCF, parameterizations
(per-step sequence, splines, MLP policy), the batched objective, rendering and the episode
backends (native ``mujoco.rollout`` threads, Gymnasium, Ray)."""
