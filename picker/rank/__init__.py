"""Recommendations: the best models and quantizations for this machine and a use case.

`picker.rank.engine.recommend` combines the catalog, the fit engine and the speed
estimate into ranked recommendations, each with its score components and a short
"why" per component; `picker.rank.document` turns them into JSON and text.
"""
