//! The codecs: each handles our nodes (a [`DeltaTableProvider`]; a
//! `DeltaScanExec`, a `DataSinkExec` over a `DeltaSink`, a `DeltaDmlExec`)
//! and hands everything else to the codec it wraps (Ballista's own, or
//! DataFusion's default).

use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion::common::{Result, TableReference};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{
    AggregateUDF, Extension, HigherOrderUDF, LogicalPlan, ScalarUDF, WindowUDF,
};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};
use delta_datafusion::{DeltaDmlExec, DeltaScanExec, DeltaSink, DeltaTableProvider};
use delta_txn::Table;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::DeltaBallistaError;
use crate::nodes::{PlanNode, ProviderNode, ScanNode, StatementNode, TAG, is_overwrite, mode};

/// Writes `node` after our tag.
fn write(node: &impl Serialize, buf: &mut Vec<u8>) -> Result<(), DeltaBallistaError> {
    buf.extend_from_slice(TAG);
    serde_json::to_writer(buf, node).map_err(|e| DeltaBallistaError::Encode(e.to_string()))
}

/// Reads a node of ours from `buf`; `None` when `buf` is not ours.
fn read<T: DeserializeOwned>(buf: &[u8]) -> Option<Result<T, DeltaBallistaError>> {
    let json = buf.strip_prefix(TAG)?;
    Some(serde_json::from_slice(json).map_err(|e| DeltaBallistaError::Decode(e.to_string())))
}

/// Encodes and decodes [`DeltaTableProvider`]s in logical plans (what a
/// client sends a scheduler); everything else goes to the codec it wraps.
#[derive(Debug)]
pub struct DeltaLogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl DeltaLogicalCodec {
    /// Ours, in front of `inner`.
    pub fn new(inner: Arc<dyn LogicalExtensionCodec>) -> Self {
        DeltaLogicalCodec { inner }
    }
}

impl Default for DeltaLogicalCodec {
    /// Ours, in front of DataFusion's default codec.
    fn default() -> Self {
        DeltaLogicalCodec::new(Arc::new(DefaultLogicalExtensionCodec {}))
    }
}

impl LogicalExtensionCodec for DeltaLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match read::<ProviderNode>(buf) {
            Some(node) => Ok(Arc::new(node?.provider()?)),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<DeltaTableProvider>() {
            Some(provider) => Ok(write(&ProviderNode::of(provider)?, buf)?),
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// Encodes and decodes our physical plans (what a scheduler sends its
/// executors); everything else goes to the codec it wraps.
#[derive(Debug)]
pub struct DeltaPhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl DeltaPhysicalCodec {
    /// Ours, in front of `inner`.
    pub fn new(inner: Arc<dyn PhysicalExtensionCodec>) -> Self {
        DeltaPhysicalCodec { inner }
    }
}

impl Default for DeltaPhysicalCodec {
    /// Ours, in front of DataFusion's default codec.
    fn default() -> Self {
        DeltaPhysicalCodec::new(Arc::new(DefaultPhysicalExtensionCodec {}))
    }
}

/// Our node of a plan, when it is one of ours.
fn plan_node(node: &Arc<dyn ExecutionPlan>) -> Result<Option<PlanNode>, DeltaBallistaError> {
    if let Some(scan) = node.downcast_ref::<DeltaScanExec>() {
        let partitions = scan.properties().partitioning.partition_count();
        let mut read = Vec::new();
        for p in 0..partitions {
            read.extend(scan.groups_of(p)?);
        }
        return Ok(Some(PlanNode::Scan(Box::new(ScanNode::of(
            scan.parts(),
            &read,
        )?))));
    }
    if let Some(dml) = node.downcast_ref::<DeltaDmlExec>() {
        return Ok(Some(PlanNode::Dml {
            location: crate::nodes::portable_location(&dml.table().location().display)?,
            statement: StatementNode::of(dml.statement()),
        }));
    }
    if let Some(exec) = node.downcast_ref::<DataSinkExec>()
        && let Some(sink) = exec.sink().downcast_ref::<DeltaSink>()
    {
        use datafusion::datasource::sink::DataSink;
        return Ok(Some(PlanNode::Write {
            location: crate::nodes::portable_location(&sink.table().location().display)?,
            overwrite: is_overwrite(sink.mode()),
            schema: sink.schema().as_ref().clone(),
        }));
    }
    Ok(None)
}

/// The plan of our node, over `inputs` (its children).
fn plan_of(
    node: PlanNode,
    inputs: &[Arc<dyn ExecutionPlan>],
) -> Result<Arc<dyn ExecutionPlan>, DeltaBallistaError> {
    let only_input = || match inputs {
        [input] => Ok(Arc::clone(input)),
        _ => Err(DeltaBallistaError::Decode(format!(
            "the plan has {} inputs, not 1",
            inputs.len()
        ))),
    };
    Ok(match node {
        // the partitions read the groups the (restricted) child names
        PlanNode::Scan(scan) => {
            Arc::new(DeltaScanExec::from_parts(scan.parts()?)?.reading(only_input()?))
        }
        PlanNode::Write {
            location,
            overwrite,
            schema,
        } => {
            let sink = DeltaSink::new(Table::at(&location)?, Arc::new(schema), mode(overwrite));
            Arc::new(DataSinkExec::new(only_input()?, Arc::new(sink), None))
        }
        PlanNode::Dml {
            location,
            statement,
        } => {
            let table = Table::at(&location)?;
            let statement = statement.statement()?;
            if inputs.is_empty() {
                Arc::new(DeltaDmlExec::new(table, statement))
            } else {
                Arc::new(DeltaDmlExec::merge(table, statement, only_input()?))
            }
        }
    })
}

impl PhysicalExtensionCodec for DeltaPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match read::<PlanNode>(buf) {
            Some(node) => Ok(plan_of(node?, inputs)?),
            None => self.inner.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        match plan_node(&node)? {
            Some(ours) => Ok(write(&ours, buf)?),
            None => self.inner.try_encode(node, buf, proto_converter),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        self.inner.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> Result<()> {
        self.inner.try_encode_expr(node, buf, ctx)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}
