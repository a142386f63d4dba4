// Importing this module registers every op the engine can emit.
import './elementwise';
import './linalg';
import './reduce';
import './shape_ops';
import './quant';
import './select';
